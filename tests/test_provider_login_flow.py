"""Logging in through a provider end to end: the real server process, its HTTP endpoint, a
MeetingClient waiting on its control connection, and the browser's part driven with requests
against the WeChat stand-in (WeChat itself cannot be reached from here)."""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from protocol.errors import ErrorCode
from qt_client.net.errors import ServerError
from qt_client.net.meeting_client import MeetingClient
from tests.conftest import wait_until
from tests.server_process import ServerProcess
from tests.standins.wechat_standin import WeChatStandin, WeChatUser
from tests.tls_support import cert_path, meeting_client
from tests.wechat_server_support import APP_ID, APP_SECRET, wechat_providers_file

LI = WeChatUser(openid="oLi-1", nickname="李小龙", unionid="uLi-1")
WANG = WeChatUser(openid="oWang-2", nickname="王芳")


@pytest.fixture
def wechat() -> Iterator[WeChatStandin]:
    standin = WeChatStandin(APP_ID, APP_SECRET, "127.0.0.1", {"li": LI, "wang": WANG}, approver="li")
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def server(tmp_path: Path, wechat: WeChatStandin) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path, "--providers", str(wechat_providers_file(tmp_path, wechat)))
    yield process
    process.stop()
    assert "Traceback" not in process.log()
    assert APP_SECRET not in process.log()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MeetingClient]:
    with meeting_client("127.0.0.1", server.control_port) as person:
        yield person


class Browser:
    """The person's browser: follows redirects through our server and the provider, and keeps
    every page it was shown."""

    def __init__(self) -> None:
        self.pages: list[requests.Response] = []
        self.done = threading.Event()

    def visit(self, url: str) -> requests.Response:
        while True:
            # Our server's certificate is the test one; the stand-in speaks plain HTTP.
            answer = requests.get(url, allow_redirects=False, timeout=10,
                                  verify=str(cert_path()) if url.startswith("https") else True)
            self.pages.append(answer)
            if answer.status_code != 302:
                return answer
            url = answer.headers["Location"]

    def open_later(self, url: str) -> None:
        """As QDesktopServices does: the browser goes on by itself while the app waits."""
        def run() -> None:
            try:
                self.visit(url)
            finally:
                self.done.set()
        threading.Thread(target=run, daemon=True).start()


def test_hello_lists_the_providers_and_a_login_through_wechat_makes_an_account(client, server) -> None:
    hello = client.connect()
    assert hello["providers"] == [{"name": "wechat", "display_name": "WeChat", "kind": "wechat"}]
    browser = Browser()
    result = client.login_with_provider("wechat", browser.open_later)
    assert browser.done.wait(10)
    assert browser.pages[-1].status_code == 200 and "You are logged in" in browser.pages[-1].text
    user = result["user"]
    assert user["display_name"] == "李小龙" and user["username"] == "李小龙"
    assert client.user_id == user["user_id"]
    profile = client.get_profile()
    assert profile["linked_providers"] == ["wechat"] and profile["has_password"] is False
    # The session is a whole one: rooms work as after a password login.
    room = client.create_room("Provider room")
    assert room["room"]["title"] == "Provider room"


def test_the_same_wechat_account_logs_in_to_the_same_account_and_ends_the_first_session(server) -> None:
    with meeting_client("127.0.0.1", server.control_port) as first, \
            meeting_client("127.0.0.1", server.control_port) as second:
        first.connect()
        second.connect()
        one = first.login_with_provider("wechat", Browser().open_later)
        two = second.login_with_provider("wechat", Browser().open_later)
        assert one["user"]["user_id"] == two["user"]["user_id"]
        assert _waits_for(lambda: first.ended_reason == "logged_in_elsewhere")


def test_a_refusal_on_the_phone_is_told_to_the_app_and_the_browser(client, wechat) -> None:
    client.connect()
    wechat.approver = None
    browser = Browser()
    with pytest.raises(ServerError) as refused:
        client.login_with_provider("wechat", browser.open_later)
    assert refused.value.code == ErrorCode.PROVIDER_DENIED
    assert browser.done.wait(10) and browser.pages[-1].status_code == 400
    assert client.user_id is None


def test_wechat_down_is_unreachable_for_the_app(client, wechat) -> None:
    client.connect()
    pushes = client.push_queue()
    ticket = client._request("start_external_login", {"provider": "wechat"})
    # Our start page sends the browser to WeChat, the person scans, WeChat sends it back...
    to_wechat = requests.get(ticket["url"], allow_redirects=False, timeout=10, verify=str(cert_path()))
    callback = requests.get(to_wechat.headers["Location"], allow_redirects=False, timeout=10)
    # ...but by then WeChat's API is gone.
    wechat.stop()
    page = Browser().visit(callback.headers["Location"])
    assert page.status_code == 502 and "could not be reached" in page.text
    assert _push(pushes, "provider_login")["error"]["code"] == ErrorCode.PROVIDER_UNREACHABLE
    assert client.user_id is None


def test_a_start_link_works_once_and_a_tampered_state_changes_nothing(client, server) -> None:
    client.connect()
    pushes = client.push_queue()
    answer = client._request("start_external_login", {"provider": "wechat"})
    assert urlsplit(answer["url"]).path == "/oauth/wechat/start"
    browser = Browser()
    to_wechat = requests.get(answer["url"], allow_redirects=False, timeout=10, verify=str(cert_path()))
    assert to_wechat.status_code == 302 and to_wechat.headers["Location"].startswith("http://127.0.0.1")
    again = browser.visit(answer["url"])
    assert again.status_code == 410 and "expired or was already used" in again.text
    # The provider's answer with the state changed on the way: refused, nobody logged in.
    back = requests.get(to_wechat.headers["Location"], allow_redirects=False, timeout=10)
    callback = back.headers["Location"]
    tampered = callback.replace("state=", "state=x")
    page = browser.visit(tampered)
    assert page.status_code == 400 and "unknown, already finished or expired" in page.text
    assert client.user_id is None
    # The real callback still completes the login it belongs to; a replay of it is refused.
    assert browser.visit(callback).status_code == 200
    assert _push(pushes, "provider_login")["result"]["user"]["display_name"] == "李小龙"
    assert browser.visit(callback).status_code == 400


def test_an_unknown_provider_is_refused(client) -> None:
    client.connect()
    with pytest.raises(ServerError) as refused:
        client.login_with_provider("facebook", Browser().open_later)
    assert refused.value.code == ErrorCode.UNKNOWN_PROVIDER


def test_a_login_not_finished_in_time_expires(tmp_path: Path, wechat: WeChatStandin) -> None:
    process = ServerProcess(tmp_path, "--providers", str(wechat_providers_file(tmp_path, wechat)),
                            "--provider-login-timeout", "1")
    try:
        with meeting_client("127.0.0.1", process.control_port) as person:
            person.connect()
            urls: list[str] = []
            with pytest.raises(ServerError) as expired:
                person.login_with_provider("wechat", urls.append)  # the person never goes on
            assert expired.value.code == ErrorCode.LOGIN_EXPIRED
            page = Browser().visit(urls[0])  # too late now
            assert page.status_code == 410
    finally:
        process.stop()


def test_the_login_token_logs_in_again_until_logout(client, server) -> None:
    client.connect()
    token = client.login_with_provider("wechat", Browser().open_later)["login_token"]
    user_id = client.user_id
    with meeting_client("127.0.0.1", server.control_port) as guesser:
        guesser.connect()
        with pytest.raises(ServerError) as wrong:
            guesser._request("resume_login", {"token": token[:-2] + "xx"})
        assert wrong.value.code == ErrorCode.BAD_TOKEN
    with meeting_client("127.0.0.1", server.control_port) as later:
        later.connect()
        assert later._request("resume_login", {"token": token})["user"]["user_id"] == user_id
        assert _waits_for(lambda: client.ended_reason == "logged_in_elsewhere")  # one session per account
        later._request("logout")
    with meeting_client("127.0.0.1", server.control_port) as after_logout:
        after_logout.connect()
        with pytest.raises(ServerError) as ended:
            after_logout._request("resume_login", {"token": token})
        assert ended.value.code == ErrorCode.BAD_TOKEN


def test_a_password_account_links_wechat_and_the_last_way_in_cannot_be_unlinked(client, server) -> None:
    client.connect()
    client.register("meilin", "correct horse battery")
    client.login("meilin", "correct horse battery")
    assert client.link_provider("wechat", Browser().open_later) == ["wechat"]
    assert client.unlink_provider("wechat") == []
    # A WeChat-only account may not remove WeChat.
    with meeting_client("127.0.0.1", server.control_port) as wei:
        wei.connect()
        wei.login_with_provider("wechat", Browser().open_later)
        with pytest.raises(ServerError) as last:
            wei.unlink_provider("wechat")
        assert last.value.code == ErrorCode.LAST_LOGIN_METHOD
        assert wei.get_profile()["linked_providers"] == ["wechat"]


def _push(pushes: queue.SimpleQueue, kind: str, timeout: float = 10.0) -> dict:
    """The first push of that kind the queue (made before it could arrive) receives."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        try:
            message = pushes.get(timeout=left)
        except queue.Empty:
            break
        if message.get("type") == kind:
            return message
    raise AssertionError(f"no {kind} push within {timeout} s")


def _waits_for(condition, timeout: float = 10.0) -> bool:
    return wait_until(condition, timeout=timeout)


def test_after_a_crash_the_client_logs_in_again_by_itself_with_its_login_token(tmp_path, wechat) -> None:
    flags = ("--providers", str(wechat_providers_file(tmp_path, wechat)), "--room-grace", "30")
    first = ServerProcess(tmp_path, *flags)
    try:
        with meeting_client("127.0.0.1", first.control_port) as person:
            person.connect()
            user_id = person.login_with_provider("wechat", Browser().open_later)["user"]["user_id"]
            room_id = person.create_room("Before the crash")["room"]["room_id"]
            states: list[str] = []
            person.on_state = states.append
            first.proc.kill()  # kill -9: no goodbye
            first.proc.wait(5)
            again = ServerProcess(tmp_path, *flags, port=first.port)
            try:
                # No browser this time: the login token does it, and the room is rejoined.
                assert _waits_for(lambda: "rejoined" in states, timeout=30), states
                assert person.user_id == user_id and person.room["room_id"] == room_id
                assert "Traceback" not in again.log()
            finally:
                again.stop()
    finally:
        first.stop()


def test_a_cancelled_link_finished_later_in_the_browser_links_nothing(client, server) -> None:
    client.connect()
    client.register("jun", "correct horse battery")
    client.login("jun", "correct horse battery")
    urls: list[str] = []

    def open_browser(url: str) -> None:
        urls.append(url)
        threading.Timer(0.3, client.cancel_provider_login).start()  # the person closes the dialog

    with pytest.raises(ServerError) as cancelled:
        client.link_provider("wechat", open_browser)
    assert cancelled.value.code == "CANCELLED"
    assert Browser().visit(urls[0]).status_code == 410  # the server forgot it
    assert client.get_profile()["linked_providers"] == []


def test_the_providers_picture_is_fetched_for_a_new_account_only(client, server, wechat) -> None:
    picture = f"{wechat.base_url}/avatar/li.png"  # the stand-in has none: 404, so no avatar is kept
    wechat.users["li"] = dataclasses.replace(LI, headimgurl=picture)
    client.connect()
    client.login_with_provider("wechat", Browser().open_later)
    client.logout()
    client.login_with_provider("wechat", Browser().open_later)
    fetched = [path for path, _query in wechat.requests if path == "/avatar/li.png"]
    assert len(fetched) == 1  # at the first login; the second found the account linked
    assert client.get_profile()["avatar"] == ""


def test_a_stalled_wechat_holds_up_only_its_own_login(client, server, wechat) -> None:
    client.connect()
    pushes = client.push_queue()
    ticket = client._request("start_external_login", {"provider": "wechat"})
    to_wechat = requests.get(ticket["url"], allow_redirects=False, timeout=10, verify=str(cert_path()))
    callback = requests.get(to_wechat.headers["Location"], allow_redirects=False, timeout=10)
    wechat.faults.slow = True  # WeChat's API now answers after 10 s: longer than the adapter waits
    pages: list[requests.Response] = []
    waiting = threading.Thread(target=lambda: pages.append(Browser().visit(callback.headers["Location"])))
    waiting.start()
    try:
        # Meanwhile someone else registers and logs in with a password: no provider call in the way.
        with meeting_client("127.0.0.1", server.control_port) as other:
            other.connect()
            other.register("hua", "correct horse battery")
            other.login("hua", "correct horse battery")
            assert waiting.is_alive()  # the stalled login is still waiting for WeChat
    finally:
        waiting.join(30)
    assert pages[0].status_code == 502
    assert _push(pushes, "provider_login")["error"]["code"] == ErrorCode.PROVIDER_UNREACHABLE
