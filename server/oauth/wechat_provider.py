"""Log in with WeChat: the Website Application QR-code login of open.weixin.qq.com
("网站应用微信登录开发指南" on developers.weixin.qq.com).

WeChat's flow is OAuth 2.0's authorization code without PKCE and without an ID token: `state`
alone ties the callback to the login this server began, and the code is exchanged with the
app secret, then the user's profile is asked for with the access token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from protocol.errors import ErrorCode
from server.oauth.platform_http import fetch_text
from server.oauth.platform_settings import platform_settings
from server.oauth.provider import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    ExternalIdentity,
    LoginAttempt,
    Provider,
    ProviderError,
)

log = logging.getLogger(__name__)

AUTHORIZE_URL = "https://open.weixin.qq.com/connect/qrconnect"
API_BASE = "https://api.weixin.qq.com"

# WeChat's documented errcodes, by whose fault they are.
CODE_NOT_ACCEPTED = {40029, 40163, 41008, 42003}  # invalid, used, missing, expired code
OUR_SETTINGS_WRONG = {40013, 40125}  # invalid appid, invalid appsecret
SYSTEM_BUSY = -1


class WeChatProvider(Provider):
    """A WeChat Website Application (网站应用) this server is registered as."""

    kind = "wechat"

    def __init__(self, name: str, display_name: str, app_id: str, app_secret: str,
                 authorize_url: str = AUTHORIZE_URL, api_base: str = API_BASE,
                 connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> None:
        super().__init__(name, display_name)
        self.app_id = app_id
        self._app_secret = app_secret
        self.authorize_url = authorize_url
        self.api_base = api_base.rstrip("/")
        self.timeouts = (connect_timeout, read_timeout)

    def __repr__(self) -> str:
        return f"WeChatProvider({self.name!r}, app_id={self.app_id!r})"  # never the secret

    @classmethod
    def from_config(cls, name: str, section: Mapping[str, Any]) -> WeChatProvider:
        """From the provider's section of providers.toml; raises ValueError an operator can act on."""
        settings = platform_settings(name, section, cls.kind, "app_secret", {
            "display_name": "WeChat", "authorize_url": AUTHORIZE_URL, "api_base": API_BASE})
        return cls(name, settings["display_name"], settings["app_id"], settings["app_secret"],
                   settings["authorize_url"], settings["api_base"])

    def authorization_url(self, attempt: LoginAttempt) -> str:
        """WeChat's page with the QR code the person scans with the phone app.

        No PKCE challenge and no nonce: WeChat supports neither, so only `state` goes along.
        Parameters in the documented order; the fragment is part of the documented URL.
        """
        query = urlencode([("appid", self.app_id), ("redirect_uri", attempt.redirect_uri),
                           ("response_type", "code"), ("scope", "snsapi_login"),
                           ("state", attempt.state)], quote_via=quote)
        return f"{self.authorize_url}?{query}#wechat_redirect"

    def identity(self, code: str, attempt: LoginAttempt) -> ExternalIdentity:
        token = self._call("/sns/oauth2/access_token", {
            "appid": self.app_id, "secret": self._app_secret, "code": code,
            "grant_type": "authorization_code"})
        access_token, openid = token.get("access_token"), token.get("openid")
        if not _is_text(access_token) or not _is_text(openid):
            raise self._refused("the token answer has no access_token or openid")
        # lang is left out: WeChat's default (en) only changes the place names, which are not used.
        profile = self._call("/sns/userinfo", {"access_token": access_token, "openid": openid})
        if profile.get("openid") != openid:
            raise self._refused("the profile is of another openid than the token")
        unionid = profile.get("unionid") or token.get("unionid")
        return ExternalIdentity(
            provider=self.name,
            subject=unionid if _is_text(unionid) else openid,
            display_name=_text(profile.get("nickname")),
            avatar_url=_text(profile.get("headimgurl")),
        )

    def _call(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """One API call's JSON object; WeChat's errcode answers (sent with HTTP 200) raised."""
        text = fetch_text(f"{self.api_base}{path}", params, "WeChat", self.timeouts)
        try:
            answer = json.loads(text)
        except ValueError:
            raise self._refused(f"{path} answered something that is not JSON ({len(text)} chars)") from None
        if not isinstance(answer, dict):
            raise self._refused(f"{path} answered JSON that is not an object")
        errcode = answer.get("errcode", 0)
        if errcode:
            raise self._platform_error(path, errcode, _text(answer.get("errmsg")))
        return answer

    def _platform_error(self, path: str, errcode: Any, errmsg: str) -> ProviderError:
        detail = f"{path}: errcode {errcode}: {errmsg}"
        if errcode in CODE_NOT_ACCEPTED:
            return ProviderError(ErrorCode.PROVIDER_REFUSED,
                                 "WeChat did not accept the login code: start again.", detail)
        if errcode in OUR_SETTINGS_WRONG:
            log.error("login provider %s: WeChat rejected this server's app_id or app_secret (%s); "
                      "check the provider's settings", self.name, detail)
            return ProviderError(ErrorCode.PROVIDER_REFUSED,
                                 "This server's WeChat login settings are wrong: please tell its operator.",
                                 detail)
        if errcode == SYSTEM_BUSY:
            return ProviderError(ErrorCode.PROVIDER_UNREACHABLE,
                                 "WeChat is busy: try again in a moment.", detail)
        log.warning("login provider %s: WeChat answered an unexpected error (%s)", self.name, detail)
        return ProviderError(ErrorCode.PROVIDER_REFUSED,
                             "WeChat's answer could not be accepted: start again.", detail)

    @staticmethod
    def _refused(detail: str) -> ProviderError:
        return ProviderError(ErrorCode.PROVIDER_REFUSED,
                             "WeChat's answer could not be accepted: start again.", detail)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
