"""Logging in through OpenID Connect end to end, against a real provider: Canaille (pytest-iam) on
loopback, our real server process with its HTTP endpoint, a MeetingClient waiting on its control
connection, and the browser's part driven with requests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests

from protocol.errors import ErrorCode
from qt_client.net.errors import ServerError
from tests.conftest import free_base_port
from tests.oidc_support import RegisteredClient, drive_browser, register_client
from tests.server_process import ServerProcess
from tests.tls_support import cert_path, meeting_client


class OidcServer:
    """Our server with one OIDC provider, "school", registered at Canaille for this test alone
    (Canaille's memory backend mixes up codes of one client across tests)."""

    def __init__(self, directory: Path, iam_server, *flags: str) -> None:
        http_port = free_base_port()
        self.public_url = f"https://127.0.0.1:{http_port}"
        self.redirect_uri = f"{self.public_url}/oauth/school/callback"
        self.client: RegisteredClient = register_client(iam_server, self.redirect_uri)
        section = self.client.provider_section(kind="oidc", display_name="School account")
        lines = ["[providers.school]"] + [f"{key} = {_toml(value)}" for key, value in section.items()]
        providers = directory / "providers.toml"
        providers.write_text("\n".join(lines) + "\n", encoding="utf-8")
        self.process = ServerProcess(directory, "--providers", str(providers), "--http-port", str(http_port),
                                     "--public-url", self.public_url, *flags)

    def stop(self) -> None:
        self.process.stop()
        log = self.process.log()
        assert "Traceback" not in log and self.client.client_secret not in log


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def oidc(tmp_path: Path, iam_server) -> Iterator[OidcServer]:
    server = OidcServer(tmp_path, iam_server)
    yield server
    server.stop()


def ours(url: str, **kwargs) -> requests.Response:
    """A request to our server's HTTP endpoint (the test certificate)."""
    return requests.get(url, allow_redirects=False, timeout=10, verify=str(cert_path()), **kwargs)


def to_provider(start_url: str) -> str:
    """Our start page: a redirect to the provider's authorization URL."""
    answer = ours(start_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def browse(oidc: OidcServer, iam_server, user, *, tamper=None) -> tuple[threading.Event, list]:
    """An open_browser for login_with_provider: the whole browser trip in a thread; `tamper` may
    change the provider's authorization URL on the way. The pages shown are kept."""
    done, pages = threading.Event(), []

    def open_browser(start_url: str) -> None:
        def trip() -> None:
            try:
                authorization = to_provider(start_url)
                if tamper is not None:
                    authorization = tamper(authorization)
                pages.append(ours(drive_browser(authorization, user, iam_server, oidc.redirect_uri)))
            finally:
                done.set()
        threading.Thread(target=trip, daemon=True).start()

    return done, pages, open_browser


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_a_login_at_the_provider_logs_the_waiting_client_in_and_again_to_the_same_account(
        oidc: OidcServer, iam_server) -> None:
    user = iam_server.random_user()
    with meeting_client("127.0.0.1", oidc.process.control_port) as person:
        assert person.connect()["providers"] == [{"name": "school", "display_name": "School account",
                                                   "kind": "oidc"}]
        done, pages, open_browser = browse(oidc, iam_server, user)
        result = person.login_with_provider("school", open_browser)
        assert done.wait(10) and pages[-1].status_code == 200 and "You are logged in" in pages[-1].text
        first_id = result["user"]["user_id"]
        assert person.get_profile()["linked_providers"] == ["school"]
        person.logout()
        done, pages, open_browser = browse(oidc, iam_server, user)
        assert person.login_with_provider("school", open_browser)["user"]["user_id"] == first_id
    # Someone else at the provider is someone else here.
    with meeting_client("127.0.0.1", oidc.process.control_port) as other:
        other.connect()
        done, pages, open_browser = browse(oidc, iam_server, iam_server.random_user())
        assert other.login_with_provider("school", open_browser)["user"]["user_id"] != first_id


def test_a_nonce_changed_on_the_way_is_refused(oidc: OidcServer, iam_server) -> None:
    with meeting_client("127.0.0.1", oidc.process.control_port) as person:
        person.connect()
        done, pages, open_browser = browse(oidc, iam_server, iam_server.random_user(),
                                           tamper=lambda url: with_query(url, nonce="not-the-servers-nonce"))
        with pytest.raises(ServerError) as refused:
            person.login_with_provider("school", open_browser)
        assert refused.value.code == ErrorCode.PROVIDER_REFUSED
        assert done.wait(10) and pages[-1].status_code == 400 and "could not be verified" in pages[-1].text
        assert person.user_id is None


def test_a_tampered_state_and_a_replayed_code_are_refused(oidc: OidcServer, iam_server) -> None:
    user = iam_server.random_user()
    with meeting_client("127.0.0.1", oidc.process.control_port) as person:
        person.connect()
        pushes = person.push_queue()
        first = person._request("start_external_login", {"provider": "school"})
        callback = drive_browser(to_provider(first["url"]), user, iam_server, oidc.redirect_uri)
        tampered = with_query(callback, state="x" + dict(parse_qsl(urlsplit(callback).query))["state"])
        page = ours(tampered)
        assert page.status_code == 400 and "unknown, already finished or expired" in page.text
        assert ours(callback).status_code == 200  # the real one still finishes its own login
        assert pushes.get(timeout=10)["result"]["user"]["username"]  # logged in, by the real callback
        person.logout()
        # The first login's code, brought back with a second login's state: used once already.
        # (The browser is not sent on to Canaille: its memory backend would take a fresh unused
        # code of the client for the old one.)
        second = person._request("start_external_login", {"provider": "school"})
        state = dict(parse_qsl(urlsplit(to_provider(second["url"])).query))["state"]
        replayed = with_query(callback, state=state)
        page = ours(replayed)
        assert page.status_code == 400
        pushed = pushes.get(timeout=10)
        while pushed.get("type") != "provider_login":
            pushed = pushes.get(timeout=10)
        assert pushed["error"]["code"] == ErrorCode.PROVIDER_REFUSED
        with pytest.raises(ServerError) as nobody:
            person._request("get_profile")
        assert nobody.value.code == ErrorCode.NOT_LOGGED_IN


def test_a_start_link_opened_after_the_login_expired_says_so(tmp_path: Path, iam_server) -> None:
    server = OidcServer(tmp_path, iam_server, "--provider-login-timeout", "1")
    try:
        with meeting_client("127.0.0.1", server.process.control_port) as person:
            person.connect()
            urls: list[str] = []
            with pytest.raises(ServerError) as expired:
                person.login_with_provider("school", urls.append)
            assert expired.value.code == ErrorCode.LOGIN_EXPIRED
            assert ours(urls[0]).status_code == 410
    finally:
        server.stop()
