"""Log in with QQ: QQ Connect's OAuth 2.0 authorization code flow on graph.qq.com (wiki.connect.qq.com:
"使用Authorization_Code获取Access_Token", "获取用户OpenID_OAuth2.0", "get_user_info").

QQ supports neither PKCE nor OIDC: `state` ties the callback to the login this server began; the
code is exchanged with the app key, the token's owner (openid, and the app it was issued to) is
asked of /oauth2.0/me, then the profile of get_user_info.
"""

from __future__ import annotations

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
from server.oauth.qq_answer import parse_qq_answer

log = logging.getLogger(__name__)

AUTHORIZE_URL = "https://graph.qq.com/oauth2.0/authorize"
API_BASE = "https://graph.qq.com"

# QQ Connect's documented return codes ("公共返回码说明"), by whose fault they are.
CODE_NOT_ACCEPTED = {100005, 100018, 100019, 100020}  # missing, unreadable, not exchangeable, reused code
# Unknown appid, wrong appkey, callback address not registered, app not approved (上线) yet, or
# the app lacks the right to call get_user_info: all fixed by the operator, not by trying again.
OUR_SETTINGS_WRONG = {100008, 100009, 100010, 100011, 100031}
PROFILE_NOT_SHARED = 100030  # the person withdrew (or never gave) get_user_info's permission


class QQProvider(Provider):
    """A QQ Connect (QQ互联) website application this server is registered as."""

    kind = "qq"

    def __init__(self, name: str, display_name: str, app_id: str, app_key: str,
                 authorize_url: str = AUTHORIZE_URL, api_base: str = API_BASE,
                 connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> None:
        super().__init__(name, display_name)
        self.app_id = app_id
        self._app_key = app_key
        self.authorize_url = authorize_url
        self.api_base = api_base.rstrip("/")
        self.timeouts = (connect_timeout, read_timeout)

    def __repr__(self) -> str:
        return f"QQProvider({self.name!r}, app_id={self.app_id!r})"  # never the app key

    @classmethod
    def from_config(cls, name: str, section: Mapping[str, Any]) -> QQProvider:
        """From the provider's section of providers.toml; raises ValueError an operator can act on."""
        settings = platform_settings(name, section, cls.kind, "app_key", {
            "display_name": "QQ", "authorize_url": AUTHORIZE_URL, "api_base": API_BASE})
        return cls(name, settings["display_name"], settings["app_id"], settings["app_key"],
                   settings["authorize_url"], settings["api_base"])

    def authorization_url(self, attempt: LoginAttempt) -> str:
        """QQ's login page. No PKCE challenge and no nonce: QQ supports neither."""
        query = urlencode([("response_type", "code"), ("client_id", self.app_id),
                           ("redirect_uri", attempt.redirect_uri), ("state", attempt.state),
                           ("scope", "get_user_info")], quote_via=quote)
        return f"{self.authorize_url}?{query}"

    def identity(self, code: str, attempt: LoginAttempt) -> ExternalIdentity:
        token = self._call("/oauth2.0/token", {
            "grant_type": "authorization_code", "client_id": self.app_id, "client_secret": self._app_key,
            "code": code, "redirect_uri": attempt.redirect_uri, "fmt": "json"})
        access_token = token.get("access_token")
        if not _is_text(access_token):
            raise self._refused("the token answer has no access_token")
        owner = self._call("/oauth2.0/me", {"access_token": access_token, "fmt": "json"})
        openid = owner.get("openid")
        if not _is_text(openid):
            raise self._refused("/oauth2.0/me gave no openid")
        if str(owner.get("client_id")) != self.app_id:
            # A token issued to another app must not log anyone in here (token substitution).
            log.warning("login provider %s: QQ's token belongs to app %r, not to this server's app",
                        self.name, owner.get("client_id"))
            raise self._refused("the access token was issued to another app")
        profile = self._call("/user/get_user_info", {
            "access_token": access_token, "oauth_consumer_key": self.app_id, "openid": openid})
        return ExternalIdentity(
            provider=self.name,
            subject=openid,
            display_name=_text(profile.get("nickname")),
            avatar_url=_text(profile.get("figureurl_qq_2")) or _text(profile.get("figureurl_qq_1")),
        )

    def _call(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """One API call's fields, in whichever of QQ's shapes they came; its error answers raised."""
        text = fetch_text(f"{self.api_base}{path}", params, "QQ", self.timeouts)
        try:
            answer = parse_qq_answer(text)
        except ValueError:
            raise self._refused(f"{path} answered something unreadable ({len(text)} chars)") from None
        if "error" in answer:  # the OAuth endpoints: {"error": 100019, "error_description": "..."}
            raise self._platform_error(path, _number(answer["error"]), _text(answer.get("error_description")))
        if "ret" in answer and _number(answer["ret"]) != 0:  # the OpenAPI: {"ret": 100030, "msg": "..."}
            raise self._platform_error(path, _number(answer["ret"]), _text(answer.get("msg")))
        return answer

    def _platform_error(self, path: str, code: int | None, description: str) -> ProviderError:
        detail = f"{path}: error {code}: {description}"
        if code in CODE_NOT_ACCEPTED:
            return ProviderError(ErrorCode.PROVIDER_REFUSED, "QQ did not accept the login code: start again.",
                                 detail)
        if code in OUR_SETTINGS_WRONG:
            log.error("login provider %s: QQ refused this server's app settings (app_id, app_key, "
                      "callback address or API rights) (%s); check the provider's settings",
                      self.name, detail)
            return ProviderError(ErrorCode.PROVIDER_REFUSED,
                                 "This server's QQ login settings are wrong: please tell its operator.",
                                 detail)
        if code == PROFILE_NOT_SHARED:
            return ProviderError(ErrorCode.PROVIDER_DENIED, "QQ did not share your profile with this server: "
                                 "start again and allow it.", detail)
        if code is not None and code < 0:  # the OpenAPI's negative codes are QQ's own failures
            return ProviderError(ErrorCode.PROVIDER_UNREACHABLE, "QQ is busy: try again in a moment.", detail)
        log.warning("login provider %s: QQ answered an unexpected error (%s)", self.name, detail)
        return self._refused(detail)

    @staticmethod
    def _refused(detail: str) -> ProviderError:
        return ProviderError(ErrorCode.PROVIDER_REFUSED, "QQ's answer could not be accepted: start again.",
                             detail)


def _number(value: object) -> int | None:
    """QQ's codes arrive as numbers in JSON and as text when form-encoded."""
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _is_text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
