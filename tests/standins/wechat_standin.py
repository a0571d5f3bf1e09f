"""A stand-in for WeChat's Website Application login, NOT WeChat itself: it follows
"网站应用微信登录开发指南" (developers.weixin.qq.com, open platform > website application >
WeChat login) for the paths, parameters, JSON fields and errcodes of:

- GET /connect/qrconnect?appid&redirect_uri&response_type=code&scope=snsapi_login&state (the QR page;
  here the "scan" is whoever the test set as `approver`: 302 to redirect_uri?code=CODE&state=STATE,
  or, when the person refuses, redirect_uri?state=STATE without a code, as documented);
- GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code;
- GET /sns/userinfo?access_token&openid[&lang].

Like WeChat, it answers errors with HTTP 200 and {"errcode", "errmsg"}, and JSON as text/plain
without a charset. Codes live 10 minutes (documented), once each.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from tests.standins.standin_server import Reply, StandinServer

CODE_LIFETIME = 600.0  # documented: a code lives 10 minutes and is exchanged once at most


@dataclass(frozen=True)
class WeChatUser:
    openid: str  # per app
    nickname: str
    headimgurl: str = ""
    unionid: str | None = None  # only when the app is bound to an Open Platform account
    sex: int = 0
    province: str = ""
    city: str = ""
    country: str = ""


@dataclass(frozen=True)
class _Token:
    user: str
    openid: str


class WeChatStandin(StandinServer):
    """One registered website application (app_id, app_secret, callback domain) and its users."""

    def __init__(self, app_id: str, app_secret: str, callback_domain: str, users: dict[str, WeChatUser],
                 approver: str | None, code_lifetime: float = CODE_LIFETIME) -> None:
        super().__init__(self._route, code_lifetime)
        self.app_id = app_id
        self.app_secret = app_secret
        self.callback_domain = callback_domain
        self.users = users
        self.approver = approver  # who scans and approves next; None refuses
        self._tokens: dict[str, _Token] = {}

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/connect/qrconnect"

    def _route(self, path: str, query: dict[str, str]) -> Reply:
        if path == "/connect/qrconnect":
            return self._qrconnect(query)
        if self.faults.busy:
            return _errcode(-1, "system error")
        if path == "/sns/oauth2/access_token":
            return self._access_token(query)
        if path == "/sns/userinfo":
            return self._userinfo(query)
        return Reply(404, b"<html><body>404 Not Found</body></html>", "text/html")

    def _qrconnect(self, query: dict[str, str]) -> Reply:
        # WeChat shows its own error page (HTTP 200, no redirect) for a request it cannot serve.
        if query.get("appid") != self.app_id:
            return _page("AppID参数错误")
        redirect_uri = query.get("redirect_uri", "")
        if urlsplit(redirect_uri).hostname != self.callback_domain:
            return _page("redirect_uri 参数错误")
        if query.get("response_type") != "code" or query.get("scope") != "snsapi_login":
            return _page("Scope 参数错误或没有 Scope 权限")
        answer = {"state": query.get("state", "")}
        if self.approver is not None:  # the person scanned and approved
            answer = {"code": self.issue_code(self.approver, redirect_uri), **answer}
        separator = "&" if "?" in redirect_uri else "?"
        return Reply(302, b"", "text/html", {"Location": f"{redirect_uri}{separator}{urlencode(answer)}"})

    def _access_token(self, query: dict[str, str]) -> Reply:
        if not query.get("appid"):
            return _errcode(41002, "appid missing")
        if query["appid"] != self.app_id:
            return _errcode(40013, "invalid appid")
        if not query.get("secret"):
            return _errcode(41004, "appsecret missing")
        if query["secret"] != self.app_secret:
            return _errcode(40125, "invalid appsecret")
        if query.get("grant_type") != "authorization_code":
            return _errcode(40002, "invalid grant_type")
        if not query.get("code"):
            return _errcode(41008, "missing code")
        outcome, grant = self.redeem_code(query["code"])
        if outcome == "unknown":
            return _errcode(40029, "invalid code")
        if outcome == "used":
            return _errcode(40163, "code been used")
        if outcome == "expired":
            return _errcode(42003, "code expired")
        assert grant is not None
        user = self.users[grant.user]
        access_token = secrets.token_urlsafe(32)
        self._tokens[access_token] = _Token(grant.user, user.openid)
        answer = {"access_token": access_token, "expires_in": 7200,
                  "refresh_token": secrets.token_urlsafe(32), "openid": user.openid, "scope": "snsapi_login"}
        if user.unionid:
            answer["unionid"] = user.unionid
        return _json(answer)

    def _userinfo(self, query: dict[str, str]) -> Reply:
        token = self._tokens.get(query.get("access_token", ""))
        if token is None:
            return _errcode(40001, "invalid credential, access_token is invalid or not latest")
        if query.get("openid") != token.openid:
            return _errcode(40003, "invalid openid")
        user = self.users[token.user]
        answer: dict[str, object] = {
            "openid": user.openid, "nickname": user.nickname, "sex": user.sex, "province": user.province,
            "city": user.city, "country": user.country, "headimgurl": user.headimgurl, "privilege": []}
        if user.unionid:
            answer["unionid"] = user.unionid
        return _json(answer)


def _json(answer: dict[str, object]) -> Reply:
    # WeChat sends UTF-8 JSON as text/plain with no charset; ensure_ascii=False keeps Chinese as UTF-8.
    return Reply(200, json.dumps(answer, ensure_ascii=False).encode("utf-8"), "text/plain")


def _errcode(errcode: int, errmsg: str) -> Reply:
    rid = secrets.token_hex(4)
    return _json({"errcode": errcode, "errmsg": f"{errmsg}, rid: {rid}"})


def _page(message: str) -> Reply:
    return Reply(200, f"<html><body><p>{message}</p></body></html>".encode(), "text/html; charset=utf-8")
