"""A stand-in for QQ Connect (QQ互联) on graph.qq.com, NOT QQ itself: it follows the QQ Connect wiki
(wiki.connect.qq.com) for the paths, parameters, answer shapes and return codes of:

- GET /oauth2.0/authorize?response_type=code&client_id&redirect_uri&state&scope
  ("使用Authorization_Code获取Access_Token", step 1): the person who logs in is the test's
  `approver`: 302 to redirect_uri?code=CODE&state=STATE;
- GET /oauth2.0/token?grant_type=authorization_code&client_id&client_secret&code&redirect_uri[&fmt=json]
  (step 2): form-encoded `access_token=...&expires_in=7776000&refresh_token=...`, JSON with fmt=json;
- GET /oauth2.0/me?access_token[&fmt=json] ("获取用户OpenID_OAuth2.0"): JSONP `callback( {...} );`,
  JSON with fmt=json;
- GET /user/get_user_info?access_token&oauth_consumer_key&openid ("get_user_info"): JSON with `ret`.

Errors carry the codes of "公共返回码说明" (100008 unknown appid, 100009 wrong appkey, 100010 bad
callback address, 100019 code not exchangeable, 100020 code reused, 100016 token check failed,
100030 permission withdrawn), as JSON with fmt=json and as JSONP without it.

A refusal on QQ's login page is not documented to redirect anywhere (there is no documented
`error=access_denied`): with `approver` None this stand-in answers a page and no redirect, so the
server's callback is never called and the login simply expires.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from tests.standins.standin_server import Reply, StandinServer

CODE_LIFETIME = 600.0  # the documented lifetime of an authorization code: 10 minutes


@dataclass(frozen=True)
class QQUser:
    openid: str  # per app
    nickname: str
    figureurl_qq_1: str = ""  # 40x40
    figureurl_qq_2: str = ""  # 100x100; QQ sends the 40x40 URL here when there is none
    gender: str = "男"


@dataclass(frozen=True)
class _Token:
    user: str
    app_id: str
    openid: str


class QQStandin(StandinServer):
    """One registered QQ Connect website application (app_id, app_key, callback domain) and its users."""

    def __init__(self, app_id: str, app_key: str, callback_domain: str, users: dict[str, QQUser],
                 approver: str | None, code_lifetime: float = CODE_LIFETIME) -> None:
        super().__init__(self._route, code_lifetime)
        self.app_id = app_id
        self.app_key = app_key
        self.callback_domain = callback_domain
        self.users = users
        self.approver = approver  # who logs in and approves next; None refuses
        self.legacy_shapes = False  # ignore fmt=json: the older form-encoded and JSONP answers
        self.token_of_app: str | None = None  # the token endpoint hands out tokens of this other app
        self.profile_withdrawn = False  # get_user_info's permission withdrawn by the person (100030)
        self._tokens: dict[str, _Token] = {}

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/oauth2.0/authorize"

    def _route(self, path: str, query: dict[str, str]) -> Reply:
        wants_json = query.get("fmt") == "json" and not self.legacy_shapes
        if path == "/oauth2.0/authorize":
            return self._authorize(query)
        if path == "/oauth2.0/token":
            return self._token(query, wants_json)
        if path == "/oauth2.0/me":
            return self._me(query, wants_json)
        if path == "/user/get_user_info":
            return self._get_user_info(query)
        return Reply(404, b"<html><body>404 Not Found</body></html>", "text/html")

    def _authorize(self, query: dict[str, str]) -> Reply:
        # QQ shows its own error page (no redirect) for a request it cannot serve.
        if query.get("response_type") != "code":
            return _page(100000, "response_type is empty or illegal")
        if query.get("client_id") != self.app_id:
            return _page(100008, "client id is illegal")
        redirect_uri = query.get("redirect_uri", "")
        if urlsplit(redirect_uri).hostname != self.callback_domain:
            return _page(100010, "redirect uri is illegal")
        if self.approver is None:
            return Reply(200, "<html><body>已取消授权</body></html>".encode(), "text/html; charset=utf-8")
        answer = {"code": self.issue_code(self.approver, redirect_uri), "state": query.get("state", "")}
        separator = "&" if "?" in redirect_uri else "?"
        return Reply(302, b"", "text/html", {"Location": f"{redirect_uri}{separator}{urlencode(answer)}"})

    def _token(self, query: dict[str, str], wants_json: bool) -> Reply:
        checks = [
            (query.get("grant_type") == "authorization_code", 100004, "grant_type is empty or illegal"),
            (bool(query.get("client_id")), 100001, "client id is empty"),
            (query.get("client_id") == self.app_id, 100008, "client id is illegal"),
            (bool(query.get("client_secret")), 100002, "client secret is empty"),
            (query.get("client_secret") == self.app_key, 100009, "client secret is illegal"),
            (bool(query.get("code")), 100005, "code is empty"),
        ]
        for ok, error, description in checks:
            if not ok:
                return _error(error, description, wants_json)
        outcome, grant = self.redeem_code(query["code"])
        if outcome == "used":
            return _error(100020, "code is reused error", wants_json)
        if outcome != "ok":
            return _error(100019, "code to access token error", wants_json)
        assert grant is not None
        if query.get("redirect_uri") != grant.redirect_uri:
            return _error(100010, "redirect uri is illegal", wants_json)
        app_id = self.token_of_app or self.app_id
        openid = self.users[grant.user].openid if app_id == self.app_id else secrets.token_hex(16).upper()
        access_token = secrets.token_hex(16).upper()
        self._tokens[access_token] = _Token(grant.user, app_id, openid)
        answer = {"access_token": access_token, "expires_in": "7776000",
                  "refresh_token": secrets.token_hex(16).upper()}
        if wants_json:
            return _json(answer)
        return Reply(200, urlencode(answer).encode(), "text/html; charset=utf-8")

    def _me(self, query: dict[str, str], wants_json: bool) -> Reply:
        token = self._tokens.get(query.get("access_token", ""))
        if token is None:
            return _error(100016, "access token check failed", wants_json)
        answer = {"client_id": token.app_id, "openid": token.openid}
        return _json(answer) if wants_json else _jsonp(answer)

    def _get_user_info(self, query: dict[str, str]) -> Reply:
        if self.faults.busy:
            return _json({"ret": -1, "msg": "系统繁忙"})
        token = self._tokens.get(query.get("access_token", ""))
        if token is None:
            return _json({"ret": 100013, "msg": "access token is illegal"})
        if query.get("oauth_consumer_key") != token.app_id or query.get("openid") != token.openid:
            return _json({"ret": 100016, "msg": "access token check failed"})
        if self.profile_withdrawn:
            return _json({"ret": 100030, "msg": "用户没有对该api进行授权"})
        user = self.users[token.user]
        return _json({"ret": 0, "msg": "", "is_lost": 0, "nickname": user.nickname, "gender": user.gender,
                      "figureurl": "", "figureurl_1": "", "figureurl_2": "",
                      "figureurl_qq_1": user.figureurl_qq_1,
                      "figureurl_qq_2": user.figureurl_qq_2 or user.figureurl_qq_1,
                      "is_yellow_vip": "0", "vip": "0", "yellow_vip_level": "0", "level": "0",
                      "is_yellow_year_vip": "0"})


def _json(answer: dict[str, object]) -> Reply:
    return Reply(200, json.dumps(answer, ensure_ascii=False).encode("utf-8"), "text/html; charset=utf-8")


def _jsonp(answer: dict[str, object]) -> Reply:
    body = f"callback( {json.dumps(answer, ensure_ascii=False)} );\n"
    return Reply(200, body.encode("utf-8"), "text/html; charset=utf-8")


def _error(error: int, description: str, wants_json: bool) -> Reply:
    answer = {"error": error, "error_description": description}
    return _json(answer) if wants_json else _jsonp(answer)


def _page(error: int, description: str) -> Reply:
    body = f"<html><body>error: {error}<br>error_description: {description}({error})</body></html>"
    return Reply(200, body.encode(), "text/html; charset=utf-8")
