"""What every stand-in shares: a ThreadingHTTPServer on 127.0.0.1 in its own thread, a clock a
test can move on, one-time codes, and the fault switches tests flip to play a failing platform."""

from __future__ import annotations

import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Faults:
    """Switches a test flips; all off is a healthy platform."""

    slow: bool = False  # answer only after slow_seconds (longer than the adapter's read timeout)
    slow_seconds: float = 10.0
    http_500: bool = False
    garbage: bool = False  # HTTP 200 with an HTML error page instead of the API's answer
    busy: bool = False  # the platform's own "system busy" error, in its own shape


@dataclass
class Grant:
    """An authorization code as the platform remembers it."""

    user: str
    redirect_uri: str
    issued_at: float
    used: bool = False


class StandinServer:
    """Serves `answer(path, query)` on 127.0.0.1 until stop(); start() picks a free port."""

    def __init__(self, answer: Callable[[str, dict[str, str]], Reply], code_lifetime: float) -> None:
        self._answer = answer
        self.faults = Faults()
        self.code_lifetime = code_lifetime
        self.requests: list[tuple[str, dict[str, str]]] = []  # every call, to check what was sent
        self.errors: list[BaseException] = []  # the stand-in's own failures: a test must see none
        self._grants: dict[str, Grant] = {}
        self._clock_offset = 0.0
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "start the stand-in first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._httpd.errors = self.errors
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="standin",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop answering (a platform that is down): later calls are refused by the OS."""
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers held by the slow fault
        self._httpd.shutdown()
        self._httpd.server_close()  # joins the handler threads
        assert self._thread is not None
        self._thread.join()
        self._httpd = None

    # --- codes and the clock

    def now(self) -> float:
        return time.monotonic() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass on the platform's clock (codes expire) without sleeping."""
        self._clock_offset += seconds

    def issue_code(self, user: str, redirect_uri: str) -> str:
        code = secrets.token_hex(16).upper()
        self._grants[code] = Grant(user, redirect_uri, self.now())
        return code

    def redeem_code(self, code: str) -> tuple[str, Grant | None]:
        """("ok", grant) the first time a live code is redeemed, else "unknown", "used" or "expired"."""
        grant = self._grants.get(code)
        if grant is None:
            return "unknown", None
        if grant.used:
            return "used", grant
        grant.used = True  # a code is single-use even when it has expired
        if self.now() - grant.issued_at > self.code_lifetime:
            return "expired", grant
        return "ok", grant

    # --- serving

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                standin.requests.append((parts.path, query))
                reply = standin._reply(parts.path, query)
                if reply is None:
                    return  # stopped while being slow: the caller already gave up
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: tests read what they need from standin.requests

        return Handler

    def _reply(self, path: str, query: dict[str, str]) -> Reply | None:
        faults = self.faults
        if faults.slow and self._stopping.wait(faults.slow_seconds):
            return None
        if faults.http_500:
            return Reply(500, b"<html><body>500 Internal Server Error</body></html>", "text/html")
        if faults.garbage:
            return Reply(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
        return self._answer(path, query)


class _Server(ThreadingHTTPServer):
    # Handler threads are joined at server_close, so no test leaves one behind.
    daemon_threads = False
    errors: list[BaseException]

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        # A caller that timed out and hung up is expected; anything else is a bug in the stand-in.
        if error is not None and not isinstance(error, ConnectionError):
            self.errors.append(error)
