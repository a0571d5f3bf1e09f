"""A real OpenID Connect provider for tests: Canaille (pytest-iam) with a client registered for us, and
the browser's part of a login done with `requests`. End-to-end tests of the server reuse it."""

from __future__ import annotations

import datetime
import http.server
import json
import secrets
import ssl
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

# How many redirects within the provider a login may take before we call it a loop.
MAX_PROVIDER_HOPS = 10


@dataclass(frozen=True)
class RegisteredClient:
    """What an operator would copy from the provider's admin page into providers.toml."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str

    def provider_section(self, **extra: Any) -> dict[str, Any]:
        """A providers.toml section for this client (http:// issuer, so insecure HTTP is allowed)."""
        section: dict[str, Any] = {"issuer": self.issuer, "client_id": self.client_id,
                                   "client_secret": self.client_secret, "allow_insecure_http": True}
        section.update(extra)
        return section


def issuer_of(iam_server: Any) -> str:
    """Canaille's issuer: its URL without the trailing slash, as its discovery document says."""
    return iam_server.url.rstrip("/")


def register_client(iam_server: Any, redirect_uri: str, auth_method: str = "client_secret_basic",
                    ) -> RegisteredClient:
    """Register a confidential client (authorization code only) at Canaille, as its admin page would.

    Use one client per test: Canaille 0.3.6's memory backend ORs the filters of a query, so the token
    endpoint, looking up (code, client), can pick another unused code of the same client."""
    client_id = "mm-" + secrets.token_hex(8)
    client_secret = secrets.token_urlsafe(32)
    client = iam_server.models.Client(
        client_id=client_id,
        client_id_issued_at=datetime.datetime.now(datetime.UTC),
        client_name="mini-meeting test",
        client_secret=client_secret,
        redirect_uris=[redirect_uri],
        grant_types=["authorization_code"],
        response_types=["code"],
        scope=["openid", "profile", "email"],
        token_endpoint_auth_method=auth_method,
        application_type="web",
        id_token_signed_response_alg="RS256",
    )
    iam_server.backend.save(client)
    client.audience = [client]
    iam_server.backend.save(client)
    return RegisteredClient(issuer_of(iam_server), client_id, client_secret, redirect_uri)


class BrowserStuck(AssertionError):
    """The provider showed a page (a login or consent form, an error) instead of redirecting back."""


def drive_browser(authorization_url: str, user: Any, iam_server: Any, redirect_uri: str) -> str:
    """Do what the person's browser does: open the authorization URL as `user` (logged in and consented
    at Canaille) and follow the provider's redirects until one points at redirect_uri; return that URL."""
    iam_server.login(user)
    iam_server.consent(user)
    try:
        url = authorization_url
        with requests.Session() as browser:
            for _ in range(MAX_PROVIDER_HOPS):
                answer = browser.get(url, allow_redirects=False, timeout=10)
                location = answer.headers.get("Location")
                if answer.status_code not in (301, 302, 303, 307, 308) or not location:
                    raise BrowserStuck(f"the provider answered {answer.status_code} at {url} instead of "
                                       f"redirecting (a form or an error page?): {answer.text[:300]!r}")
                url = urllib.parse.urljoin(url, location)
                if url.startswith(redirect_uri):
                    return url
        raise BrowserStuck(f"more than {MAX_PROVIDER_HOPS} redirects within the provider, last {url}")
    finally:
        iam_server.logout()


def callback_parameters(callback_url: str) -> dict[str, str]:
    """The query of the provider's redirect back to us: code, state (and iss), or error."""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback_url).query))


# A handler gets the request (method, path, headers, form body) and answers (status, JSON object).
StubHandler = Callable[["StubRequest"], tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class StubRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


class JsonStub:
    """A small HTTP server on loopback answering JSON per path: a provider that misbehaves on purpose
    (wrong issuer, another subject at userinfo, a 500) where Canaille cannot be made to."""

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        """tls: (certificate file, key file) to serve https, as every production provider does."""
        self.routes: dict[str, StubHandler] = {}
        self.requests: list[StubRequest] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer({})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                self._answer(dict(urllib.parse.parse_qsl(body)))

            def _answer(self, form: dict[str, str]) -> None:
                request = StubRequest(self.command, self.path.split("?")[0], dict(self.headers), form)
                stub.requests.append(request)
                handler = stub.routes.get(request.path)
                status, document = handler(request) if handler else (404, {"error": "not_found"})
                payload = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = False  # server_close() then waits for every handler thread
        scheme = "http"
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="json-stub")

    def __enter__(self) -> JsonStub:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def serve(self, path: str, document: dict[str, Any], status: int = 200) -> None:
        """Answer `document` at `path` every time."""
        self.routes[path] = lambda _request: (status, document)
