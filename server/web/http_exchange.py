"""One HTTP connection's state: its h11 parser, where it stands, its deadline, and how a response goes out."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from http import HTTPStatus

import h11

from reactor.tcp_connection import TcpConnection
from reactor.timer import Timer
from server.web.http_message import SECURITY_HEADERS, HttpResponse

log = logging.getLogger(__name__)


class Phase(enum.Enum):
    READING = "reading the request"
    HANDLING = "waiting for the handler"
    CLOSING = "answered, closing"


class HttpExchange:
    """One request and one response per connection (Connection: close): simplest, and all a browser
    passing through a login needs. Used on the connection's loop only, so it needs no lock."""

    def __init__(self, conn: TcpConnection, max_head: int) -> None:
        self.conn = conn
        self.parser = h11.Connection(h11.SERVER, max_incomplete_event_size=max_head)
        self.phase = Phase.READING
        self.head_only = False  # a HEAD request: the same headers, no body
        self.what = "-"  # "GET /path" for the log, once known (never the query: it may hold a code)
        self._deadline: Timer | None = None

    def set_deadline(self, seconds: float, on_overdue: Callable[[], None]) -> None:
        """One deadline at a time: each phase replaces the last one's."""
        self.cancel_deadline()
        self._deadline = self.conn.loop.run_after(seconds, on_overdue)

    def cancel_deadline(self) -> None:
        if self._deadline is not None:
            self.conn.loop.cancel(self._deadline)
            self._deadline = None

    def send(self, response: HttpResponse) -> bool:
        """Serialise through h11 and send, then half-close; False if a response went out already,
        the connection is gone, or h11 refuses (the connection is then closed without one)."""
        self.conn.loop.assert_in_loop_thread()
        if self.phase is Phase.CLOSING or not self.conn.connected:
            return False
        self.phase = Phase.CLOSING
        headers = {**SECURITY_HEADERS, **response.headers,
                   "content-length": str(len(response.body)), "connection": "close"}
        try:
            data = self.parser.send(h11.Response(status_code=response.status, headers=list(headers.items()),
                                                 reason=_reason(response.status)))
            if not self.head_only and response.body:
                data += self.parser.send(h11.Data(data=response.body))
            data += self.parser.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            log.info("%s from %s: no %d response possible (%s); closing", self.conn.name,
                     self.conn.peer_address, response.status, exc)
            self.conn.force_close()
            return False
        log.info("%s from %s: %.200s -> %d", self.conn.name, self.conn.peer_address, self.what,
                 response.status)
        self.conn.send(data)
        self.conn.shutdown()  # FIN once the response has gone; the peer closes, or the linger deadline does
        return True


def _reason(status: int) -> bytes:
    """The standard phrase ("Not Found"); none for a status a handler made up."""
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""
