"""QQProvider against a stand-in that follows QQ Connect's published OAuth 2.0 API, over real HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests

from protocol.errors import ErrorCode
from server.oauth.provider import LoginAttempt, ProviderError
from server.oauth.qq_provider import QQProvider
from tests.standins.qq_standin import QQStandin, QQUser

APP_ID = "101814107"
APP_KEY = "a9e8c7b6d5f4e3a2b1c0d9e8f7a6b5c4"
REDIRECT_URI = "https://meet.example.org/oauth/qq/callback"

ZHANG = QQUser(openid="1704A1B2C3D4E5F60718293A4B5C878C", nickname="张伟",
               figureurl_qq_1="http://thirdqq.qlogo.cn/zhang/40", figureurl_qq_2="http://thirdqq.qlogo.cn/zhang/100")
CHEN = QQUser(openid="28F1E2D3C4B5A6978877665544332211", nickname="陈静",
              figureurl_qq_1="http://thirdqq.qlogo.cn/chen/40")


@pytest.fixture
def standin() -> Iterator[QQStandin]:
    server = QQStandin(APP_ID, APP_KEY, "meet.example.org", {"zhang": ZHANG, "chen": CHEN}, approver="zhang")
    server.start()
    yield server
    server.stop()
    assert server.errors == []


@pytest.fixture
def provider(standin: QQStandin) -> QQProvider:
    return QQProvider("qq", "QQ", APP_ID, APP_KEY, authorize_url=standin.authorize_url,
                      api_base=standin.base_url, connect_timeout=1.0, read_timeout=0.5)


def attempt(state: str = "st-4e2d1c") -> LoginAttempt:
    return LoginAttempt(state=state, nonce="", code_verifier="", redirect_uri=REDIRECT_URI)


def login_code(provider: QQProvider, login: LoginAttempt) -> str:
    """The browser opens QQ's page and the person approves: the code from the callback's query."""
    answer = requests.get(provider.authorization_url(login), allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    callback = dict(parse_qsl(location.query))
    assert callback["state"] == login.state
    return callback["code"]


def refused(provider: QQProvider, code: str, login: LoginAttempt) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        provider.identity(code, login)
    return caught.value


def test_the_authorization_url_has_exactly_the_documented_parameters(provider, standin):
    parts = urlsplit(provider.authorization_url(attempt("st-1")))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == standin.authorize_url
    assert [name for name, _ in parse_qsl(parts.query)] == [
        "response_type", "client_id", "redirect_uri", "state", "scope"]
    assert parse_qs(parts.query) == {"response_type": ["code"], "client_id": [APP_ID],
                                     "redirect_uri": [REDIRECT_URI], "state": ["st-1"],
                                     "scope": ["get_user_info"]}
    assert parts.fragment == ""


def test_the_real_qq_page_is_the_default():
    url = QQProvider("qq", "QQ", APP_ID, APP_KEY).authorization_url(attempt())
    assert url.startswith("https://graph.qq.com/oauth2.0/authorize?response_type=code&client_id=101814107&")


def test_a_login_gives_the_openid_the_chinese_nickname_and_the_large_avatar(provider, standin):
    login = attempt()
    who = provider.identity(login_code(provider, login), login)
    assert (who.provider, who.subject, who.display_name, who.avatar_url) == (
        "qq", ZHANG.openid, "张伟", "http://thirdqq.qlogo.cn/zhang/100")
    assert [path for path, _ in standin.requests[1:]] == [
        "/oauth2.0/token", "/oauth2.0/me", "/user/get_user_info"]
    assert standin.requests[1][1]["redirect_uri"] == REDIRECT_URI


def test_without_a_large_avatar_the_small_one_is_used(provider, standin):
    standin.approver = "chen"
    login = attempt()
    who = provider.identity(login_code(provider, login), login)
    assert (who.subject, who.display_name, who.avatar_url) == (CHEN.openid, "陈静", "http://thirdqq.qlogo.cn/chen/40")


def test_the_older_form_encoded_and_jsonp_answers_work_too(provider, standin):
    standin.legacy_shapes = True
    login = attempt()
    who = provider.identity(login_code(provider, login), login)
    assert (who.subject, who.display_name) == (ZHANG.openid, "张伟")


def test_an_error_in_jsonp_is_read_as_an_error(provider, standin):
    standin.legacy_shapes = True
    error = refused(provider, "0123456789ABCDEF", attempt())
    assert (error.code, "100019" in error.detail) == (ErrorCode.PROVIDER_REFUSED, True)


def test_a_refusal_on_qqs_page_does_not_come_back(provider, standin):
    standin.approver = None
    answer = requests.get(provider.authorization_url(attempt()), allow_redirects=False, timeout=5)
    assert answer.status_code == 200 and "Location" not in answer.headers


def test_a_replayed_code_is_not_accepted(provider):
    login = attempt()
    code = login_code(provider, login)
    provider.identity(code, login)
    error = refused(provider, code, login)
    assert (error.code, "100020" in error.detail) == (ErrorCode.PROVIDER_REFUSED, True)
    assert "start again" in error.message


def test_an_expired_code_is_not_accepted(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.advance(601)
    error = refused(provider, code, login)
    assert (error.code, "100019" in error.detail) == (ErrorCode.PROVIDER_REFUSED, True)


def test_a_wrong_app_key_blames_the_servers_settings_and_logs_an_error(standin, caplog):
    wrong = QQProvider("qq", "QQ", APP_ID, "not-the-app-key-2c9d", authorize_url=standin.authorize_url,
                       api_base=standin.base_url)
    login = attempt()
    with caplog.at_level(logging.DEBUG):
        error = refused(wrong, login_code(wrong, login), login)
    assert error.code == ErrorCode.PROVIDER_REFUSED
    assert "operator" in error.message
    assert "100009" in error.detail
    assert [r.levelname for r in caplog.records if "app settings" in r.getMessage()] == ["ERROR"]
    assert "not-the-app-key-2c9d" not in caplog.text + error.message + error.detail


def test_a_callback_address_qq_does_not_know_never_reaches_a_code(provider):
    elsewhere = LoginAttempt(state="s", nonce="", code_verifier="", redirect_uri="https://evil.example/cb")
    answer = requests.get(provider.authorization_url(elsewhere), allow_redirects=False, timeout=5)
    assert answer.status_code == 200 and "Location" not in answer.headers
    assert "100010" in answer.text


def test_a_token_issued_to_another_app_is_refused(provider, standin, caplog):
    standin.token_of_app = "100000999"
    login = attempt()
    with caplog.at_level(logging.WARNING):
        error = refused(provider, login_code(provider, login), login)
    assert error.code == ErrorCode.PROVIDER_REFUSED
    assert "another app" in error.detail
    assert "100000999" in caplog.text
    assert "/user/get_user_info" not in [path for path, _ in standin.requests]


def test_a_withdrawn_profile_permission_is_a_refusal_by_the_person(provider, standin):
    standin.profile_withdrawn = True
    login = attempt()
    error = refused(provider, login_code(provider, login), login)
    assert (error.code, "100030" in error.detail) == (ErrorCode.PROVIDER_DENIED, True)


def test_a_slow_qq_is_unreachable_once_the_read_timeout_passes(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.faults.slow = True  # answers after 10 s; the provider reads for 0.5 s
    started = time.monotonic()
    error = refused(provider, code, login)
    assert error.code == ErrorCode.PROVIDER_UNREACHABLE
    assert time.monotonic() - started < standin.faults.slow_seconds / 2


def test_a_qq_that_is_down_is_unreachable(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.stop()
    assert refused(provider, code, login).code == ErrorCode.PROVIDER_UNREACHABLE


def test_an_http_500_is_unreachable(provider, standin):
    standin.faults.http_500 = True
    assert refused(provider, "0123", attempt()).code == ErrorCode.PROVIDER_UNREACHABLE


def test_an_unreadable_answer_is_refused(provider, standin):
    standin.faults.garbage = True
    assert refused(provider, "0123", attempt()).code == ErrorCode.PROVIDER_REFUSED


def test_system_busy_is_unreachable(provider, standin):
    login = attempt()
    code = login_code(provider, login)
    standin.faults.busy = True
    error = refused(provider, code, login)
    assert (error.code, "-1" in error.detail) == (ErrorCode.PROVIDER_UNREACHABLE, True)


def test_no_app_key_code_or_token_reaches_errors_or_the_log(provider, standin, caplog):
    login = attempt()
    with caplog.at_level(logging.DEBUG):
        first = login_code(provider, login)
        provider.identity(first, login)
        errors = [refused(provider, first, login)]
        second = login_code(provider, login)
        standin.faults.slow = True
        errors.append(refused(provider, second, login))
        standin.faults.slow = False
        standin.stop()
        errors.append(refused(provider, second, login))
    assert any("/oauth2.0/token" in r.getMessage() for r in caplog.records)  # urllib3 did log calls
    words = caplog.text + repr(provider) + "".join(e.message + e.detail for e in errors)
    for secret in (APP_KEY, first, second):
        assert secret not in words


def test_from_config_reads_the_app_key_from_a_file(tmp_path):
    key_file = tmp_path / "qq_app_key"
    key_file.write_text(APP_KEY + "\n")
    provider = QQProvider.from_config("qq", {"kind": "qq", "app_id": APP_ID, "app_key_file": str(key_file),
                                             "display_name": "QQ 登录"})
    assert (provider.display_name, provider.app_id, provider.api_base) == ("QQ 登录", APP_ID, "https://graph.qq.com")
    assert provider._app_key == APP_KEY


@pytest.mark.parametrize(("section", "complaint"), [
    ({"app_key": APP_KEY}, "app_id is missing"),
    ({"app_id": APP_ID}, "app_key (or app_key_file) is missing"),
    ({"app_id": APP_ID, "app_key": APP_KEY, "app_secret": "x"}, "unknown setting(s) app_secret"),
    ({"app_id": APP_ID, "app_key": APP_KEY, "app_key_file": "/x"}, "not both"),
    ({"app_id": APP_ID, "app_key_file": "/nonexistent/qq"}, "cannot read app_key_file"),
    ({"app_id": APP_ID, "app_key": APP_KEY, "authorize_url": "graph.qq.com"}, "must be an http(s) URL"),
    ({"app_id": 101814107, "app_key": APP_KEY}, "app_id must be a string"),
])
def test_from_config_names_what_is_wrong(section, complaint):
    with pytest.raises(ValueError) as caught:
        QQProvider.from_config("qq", section)
    assert complaint in str(caught.value)
    assert "login provider 'qq'" in str(caught.value)
    assert APP_KEY not in str(caught.value)
