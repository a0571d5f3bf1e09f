"""WeChatProvider against a stand-in that follows WeChat's published website-login API, over real HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests

from protocol.errors import ErrorCode
from server.oauth.provider import LoginAttempt, ProviderError
from server.oauth.wechat_provider import WeChatProvider
from tests.standins.wechat_standin import WeChatStandin, WeChatUser

APP_ID = "wx8f3a9c0d2b1e4f67"
APP_SECRET = "s3cr3t-0f-the-app-5a9d7e21c4b8f0a6"
REDIRECT_URI = "https://meet.example.org/oauth/wechat/callback"

LI = WeChatUser(openid="oLi-openid-0001", nickname="李小龙🐉", headimgurl="https://thirdwx.qlogo.cn/li/132",
                unionid="uLi-unionid-0001", sex=1, province="Guangdong", city="Shenzhen", country="CN")
WANG = WeChatUser(openid="oWang-openid-0002", nickname="王芳", headimgurl="https://thirdwx.qlogo.cn/wang/132")


@pytest.fixture
def standin() -> Iterator[WeChatStandin]:
    server = WeChatStandin(APP_ID, APP_SECRET, "meet.example.org", {"li": LI, "wang": WANG}, approver="li")
    server.start()
    yield server
    server.stop()
    assert server.errors == []


@pytest.fixture
def provider(standin: WeChatStandin) -> WeChatProvider:
    return WeChatProvider("wechat", "WeChat", APP_ID, APP_SECRET, authorize_url=standin.authorize_url,
                          api_base=standin.base_url, connect_timeout=1.0, read_timeout=0.5)


def attempt(state: str = "st-8c1f2a") -> LoginAttempt:
    return LoginAttempt(state=state, nonce="", code_verifier="", redirect_uri=REDIRECT_URI)


def scan(provider: WeChatProvider, login: LoginAttempt) -> dict[str, str]:
    """The browser opens the QR page, the phone approves (or not): the callback's query."""
    answer = requests.get(provider.authorization_url(login), allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return dict(parse_qsl(location.query))


def login_code(provider: WeChatProvider, login: LoginAttempt) -> str:
    callback = scan(provider, login)
    assert callback["state"] == login.state
    return callback["code"]


def refused(provider: WeChatProvider, code: str, login: LoginAttempt) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.identity(code, login)
    return caught.value


def test_the_authorization_url_has_exactly_the_documented_parameters(provider, standin):
    url = provider.authorization_url(attempt("st-1"))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == standin.authorize_url
    assert parts.fragment == "wechat_redirect"
    assert [name for name, _ in parse_qsl(parts.query)] == [
        "appid", "redirect_uri", "response_type", "scope", "state"]
    assert parse_qs(parts.query) == {"appid": [APP_ID], "redirect_uri": [REDIRECT_URI],
                                     "response_type": ["code"], "scope": ["snsapi_login"], "state": ["st-1"]}
    assert "%2F%2Fmeet.example.org%2Foauth" in parts.query  # the redirect URI is URL-encoded whole


def test_the_real_wechat_page_is_the_default():
    url = WeChatProvider("wechat", "WeChat", APP_ID, APP_SECRET).authorization_url(attempt())
    assert url.startswith("https://open.weixin.qq.com/connect/qrconnect?appid=")


def test_a_login_gives_the_unionid_the_chinese_nickname_and_the_avatar(provider, standin):
    login = attempt()
    who = provider.identity(login_code(provider, login), login)
    assert (who.provider, who.subject, who.display_name, who.avatar_url) == (
        "wechat", "uLi-unionid-0001", "李小龙🐉", "https://thirdwx.qlogo.cn/li/132")
    token_call = standin.requests[1]
    assert token_call[0] == "/sns/oauth2/access_token"
    assert set(token_call[1]) == {"appid", "secret", "code", "grant_type"}


def test_an_app_not_bound_to_the_open_platform_gives_the_openid(provider, standin):
    standin.approver = "wang"
    login = attempt()
    who = provider.identity(login_code(provider, login), login)
    assert (who.subject, who.display_name) == ("oWang-openid-0002", "王芳")


def test_a_refusal_on_the_phone_comes_back_without_a_code(provider, standin):
    standin.approver = None
    callback = scan(provider, attempt("st-refused"))
    assert callback == {"state": "st-refused"}


def test_a_replayed_code_is_not_accepted(provider):
    login = attempt()
    code = login_code(provider, login)
    provider.identity(code, login)
    error = refused(provider, code, login)
    assert error.code == ErrorCode.PROVIDER_REFUSED
    assert "start again" in error.message
    assert "40163" in error.detail


def test_an_expired_code_is_not_accepted(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.advance(601)
    error = refused(provider, code, login)
    assert (error.code, "42003" in error.detail) == (ErrorCode.PROVIDER_REFUSED, True)


def test_a_made_up_code_is_not_accepted(provider):
    error = refused(provider, "0123456789ABCDEF", attempt())
    assert (error.code, "40029" in error.detail) == (ErrorCode.PROVIDER_REFUSED, True)


def test_a_wrong_secret_blames_the_servers_settings_and_logs_an_error(standin, caplog):
    wrong = WeChatProvider("wechat", "WeChat", APP_ID, "not-the-secret-7f3e",
                           authorize_url=standin.authorize_url, api_base=standin.base_url)
    login = attempt()
    with caplog.at_level(logging.DEBUG):
        error = refused(wrong, login_code(wrong, login), login)
    assert error.code == ErrorCode.PROVIDER_REFUSED
    assert "operator" in error.message
    assert "40125" in error.detail
    assert [r.levelname for r in caplog.records if "app_secret" in r.getMessage()] == ["ERROR"]
    assert "not-the-secret-7f3e" not in caplog.text + error.message + error.detail


def test_a_wrong_app_id_never_reaches_a_code(standin):
    wrong = WeChatProvider("wechat", "WeChat", "wx-someone-else", APP_SECRET,
                           authorize_url=standin.authorize_url, api_base=standin.base_url)
    answer = requests.get(wrong.authorization_url(attempt()), allow_redirects=False, timeout=5)
    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "AppID" in answer.text


def test_a_slow_wechat_is_unreachable_once_the_read_timeout_passes(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.faults.slow = True  # answers after 10 s; the provider reads for 0.5 s
    started = time.monotonic()
    error = refused(provider, code, login)
    assert error.code == ErrorCode.PROVIDER_UNREACHABLE
    assert time.monotonic() - started < standin.faults.slow_seconds / 2


def test_a_wechat_that_is_down_is_unreachable(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.stop()
    error = refused(provider, code, login)
    assert error.code == ErrorCode.PROVIDER_UNREACHABLE
    assert "try again later" in error.message


def test_an_http_500_is_unreachable(provider, standin):
    standin.faults.http_500 = True
    assert refused(provider, "0123", attempt()).code == ErrorCode.PROVIDER_UNREACHABLE


def test_an_answer_that_is_not_json_is_refused(provider, standin):
    standin.faults.garbage = True
    assert refused(provider, "0123", attempt()).code == ErrorCode.PROVIDER_REFUSED


def test_system_busy_is_unreachable(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.faults.busy = True
    error = refused(provider, code, login)
    assert (error.code, "-1" in error.detail) == (ErrorCode.PROVIDER_UNREACHABLE, True)


def test_no_secret_code_or_token_reaches_errors_or_the_log(provider, standin, caplog):
    login = attempt()
    codes = []
    with caplog.at_level(logging.DEBUG):
        codes.append(login_code(provider, login))
        provider.identity(codes[0], login)
        errors = [refused(provider, codes[0], login)]
        codes.append(login_code(provider, login))
        standin.faults.slow = True
        errors.append(refused(provider, codes[1], login))
        standin.faults.slow = False
        standin.stop()
        errors.append(refused(provider, codes[1], login))
    assert any("/sns/oauth2/access_token" in r.getMessage() for r in caplog.records)  # urllib3 did log calls
    words = caplog.text + repr(provider) + "".join(e.message + e.detail for e in errors)
    assert APP_SECRET not in words
    for code in codes:
        assert code not in words


def test_from_config_reads_the_secret_from_a_file(tmp_path):
    secret_file = tmp_path / "wechat_secret"
    secret_file.write_text(APP_SECRET + "\n")
    provider = WeChatProvider.from_config("wechat", {"kind": "wechat", "app_id": APP_ID,
                                                     "app_secret_file": str(secret_file)})
    assert (provider.display_name, provider.app_id, provider.api_base) == (
        "WeChat", APP_ID, "https://api.weixin.qq.com")
    assert provider._app_secret == APP_SECRET


@pytest.mark.parametrize(("section", "complaint"), [
    ({"app_secret": APP_SECRET}, "app_id is missing"),
    ({"app_id": APP_ID}, "app_secret (or app_secret_file) is missing"),
    ({"app_id": APP_ID, "app_secret": APP_SECRET, "appsecret": "x"}, "unknown setting(s) appsecret"),
    ({"app_id": APP_ID, "app_secret": APP_SECRET, "app_secret_file": "/x"}, "not both"),
    ({"app_id": APP_ID, "app_secret_file": "/nonexistent/wechat"}, "cannot read app_secret_file"),
    ({"app_id": APP_ID, "app_secret": APP_SECRET, "api_base": "api.weixin.qq.com"}, "must be an http(s) URL"),
    ({"app_id": 12345, "app_secret": APP_SECRET}, "app_id must be a string"),
    ({"kind": "qq", "app_id": APP_ID, "app_secret": APP_SECRET}, "expected 'wechat'"),
])
def test_from_config_names_what_is_wrong(section, complaint):
    with pytest.raises(ValueError) as caught:
        WeChatProvider.from_config("wechat", section)
    assert complaint in str(caught.value)
    assert "login provider 'wechat'" in str(caught.value)
    assert APP_SECRET not in str(caught.value)
