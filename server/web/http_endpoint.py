"""An HTTP/1.1 endpoint on the reactor, parsed and written by h11 (sans-I/O): no parser of our own."""

from __future__ import annotations

import logging
import ssl
from functools import partial
from typing import Any

import h11

from reactor.buffer import Buffer
from reactor.connections_per_address import ConnectionsPerAddress
from reactor.event_loop import EventLoop
from reactor.event_loop_thread_pool import EventLoopThreadPool
from reactor.tcp_connection import TcpConnection
from reactor.tcp_server import TcpServer
from server.web.http_exchange import HttpExchange, Phase
from server.web.http_message import HttpRequest, HttpResponse, html_page
from server.web.request_target import BadTarget, split_target
from server.web.router import Handler, Router

log = logging.getLogger(__name__)

SERVED_METHODS = ("GET", "HEAD")


class HttpEndpoint:
    """GET and HEAD only, one request per connection. Handlers run on the connection's I/O loop and
    must not block; `respond` may come later, from any thread (a worker that asked a provider).

    Limits: a request line and headers over `MAX_HEAD` bytes get 431; a request not complete within
    `request_timeout` seconds 408 (slowloris); a handler that has not answered within
    `response_timeout` 504; a peer that does not close within `request_timeout` after the answer is
    closed. A GET with a body gets 400: no route takes one, and reading it would only cost us.
    """

    MAX_HEAD = 16 * 1024

    def __init__(self, loop: EventLoop, host: str, port: int, *, name: str = "http",
                 thread_pool: EventLoopThreadPool | None = None,
                 per_address: ConnectionsPerAddress | None = None,
                 tls_context: ssl.SSLContext | None = None, handshake_timeout: float = 10.0,
                 request_timeout: float = 10.0, response_timeout: float = 60.0) -> None:
        self.request_timeout = request_timeout
        self.response_timeout = response_timeout
        self.router = Router()
        self.server = TcpServer(loop, host, port, name, thread_pool=thread_pool)
        self.server.per_address = per_address
        self.server.connection_callback = self._on_connection
        self.server.message_callback = self._on_message
        self.server.tls_context = tls_context
        self.server.handshake_timeout = handshake_timeout
        self._port = self.server.port  # bound already; kept, to be told after a stop too

    @property
    def port(self) -> int:
        return self._port

    @property
    def tls(self) -> bool:
        return self.server.tls_context is not None

    def route(self, pattern: str, handler: Handler) -> None:
        """Serve `pattern` (`/healthz`, or `/oauth/{provider}/start` with path parameters) with handler."""
        self.router.add(pattern, handler)

    def start(self) -> None:
        """Listen; on the base loop's thread."""
        self.server.start()

    def stop_accepting(self) -> None:
        self.server.stop_accepting()

    def stop(self) -> None:
        self.server.stop()

    # -- the connection's loop -------------------------------------------

    def _on_connection(self, conn: TcpConnection) -> None:
        if conn.connected:
            exchange = HttpExchange(conn, self.MAX_HEAD)
            conn.context = exchange
            exchange.set_deadline(self.request_timeout, partial(self._request_overdue, exchange))
        elif isinstance(conn.context, HttpExchange):
            conn.context.cancel_deadline()

    def _on_message(self, conn: TcpConnection, buffer: Buffer) -> None:
        exchange: HttpExchange = conn.context
        data = buffer.retrieve_all()
        if exchange.phase is not Phase.READING:
            return  # one request per connection: whatever follows it (a body, a pipeline) is dropped
        exchange.parser.receive_data(data)
        try:
            event = exchange.parser.next_event()
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint
            log.info("%s from %s: bad HTTP request (%s); answering %d", conn.name, conn.peer_address, exc,
                     status)
            exchange.send(_error_page(status))
            return
        if isinstance(event, h11.Request):
            self._on_request(exchange, event)
        # NEED_DATA: wait for more, within the deadline. ConnectionClosed: the reactor closes us.

    def _on_request(self, exchange: HttpExchange, event: h11.Request) -> None:
        method = event.method.decode("ascii", "replace")
        exchange.head_only = method == "HEAD"
        exchange.what = f"{method} {event.target.partition(b'?')[0].decode('ascii', 'replace')}"
        if method not in SERVED_METHODS:
            exchange.send(_error_page(405, {"allow": ", ".join(SERVED_METHODS)}))
            return
        head_size = len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)
        if head_size > self.MAX_HEAD:
            exchange.send(_error_page(431))  # h11 bounds only heads that arrive in pieces
            return
        headers = {name.decode("ascii"): value.decode("latin-1") for name, value in event.headers}
        if headers.get("content-length", "0") != "0" or "transfer-encoding" in headers:
            log.info("%s from %s: %s with a body; answering 400", exchange.conn.name,
                     exchange.conn.peer_address, method)
            exchange.send(_error_page(400))
            return
        try:
            path, query = split_target(event.target)
        except BadTarget as exc:
            log.info("%s from %s: bad request target (%s); answering 400", exchange.conn.name,
                     exchange.conn.peer_address, exc)
            exchange.send(_error_page(400))
            return
        exchange.what = f"{method} {path}"
        found = self.router.match(path)
        if found is None:
            exchange.send(_error_page(404))
            return
        handler, params = found
        exchange.phase = Phase.HANDLING
        exchange.set_deadline(self.response_timeout, partial(self._response_overdue, exchange))
        request = HttpRequest(method, path, query, headers, exchange.conn.peer_address, exchange.conn.loop)
        try:
            handler(request, params, partial(self._respond, exchange))
        except Exception:
            log.exception("%s: the handler of %s failed", exchange.conn.name, exchange.what)
            exchange.send(_error_page(500))

    def _respond(self, exchange: HttpExchange, response: HttpResponse) -> None:
        """A handler's answer, from any thread: sent on the connection's loop, once."""
        exchange.conn.loop.run_in_loop(partial(self._send_answer, exchange, response))

    def _send_answer(self, exchange: HttpExchange, response: HttpResponse) -> None:
        if exchange.send(response):
            exchange.set_deadline(self.request_timeout, exchange.conn.force_close)

    def _request_overdue(self, exchange: HttpExchange) -> None:
        if exchange.phase is Phase.READING:
            log.info("%s from %s: no complete request within %g s; closing", exchange.conn.name,
                     exchange.conn.peer_address, self.request_timeout)
            if not exchange.send(_error_page(408)):
                exchange.conn.force_close()
        exchange.set_deadline(self.request_timeout, exchange.conn.force_close)

    def _response_overdue(self, exchange: HttpExchange) -> None:
        if exchange.phase is Phase.HANDLING:
            log.warning("%s: the handler of %s gave no answer within %g s; answering 504", exchange.conn.name,
                        exchange.what, self.response_timeout)
            exchange.send(_error_page(504))
        exchange.set_deadline(self.request_timeout, exchange.conn.force_close)


# What a person reads for each failure; generic on purpose: details are in the server's log.
_ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: ("Bad request", "Your browser sent a request this server cannot read."),
    404: ("Not found", "There is no page at this address."),
    405: ("Method not allowed", "This server only answers GET and HEAD requests."),
    408: ("Request timeout", "The request did not arrive in time."),
    431: ("Request headers too large", "The request's headers are larger than this server accepts."),
    500: ("Server error", "Something went wrong on the server. Please try again; if it goes on, tell "
                          "the server's operator."),
    504: ("Timed out", "The server could not finish in time. Please try again."),
}


def _error_page(status: int, headers: dict[str, Any] | None = None) -> HttpResponse:
    title, text = _ERROR_TEXTS.get(status, _ERROR_TEXTS[400])
    page = html_page(status, title, text)
    return HttpResponse(status, {**page.headers, **(headers or {})}, page.body)
