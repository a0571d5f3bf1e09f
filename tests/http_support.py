"""A bare HttpEndpoint on its own loop thread, and a raw client that reads an answer to its end."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator
from typing import Any

from reactor.event_loop_thread import EventLoopThread
from server.web.http_endpoint import HttpEndpoint
from tests.conftest import call_in_loop

# Every answer carries these, whatever its status.
SECURITY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "connection": "close",
}


@contextlib.contextmanager
def running_endpoint(configure: Callable[[HttpEndpoint], None] | None = None,
                     **options: Any) -> Iterator[HttpEndpoint]:
    """An HttpEndpoint on 127.0.0.1 (a free port), accepting and serving on one loop thread."""
    thread = EventLoopThread("http-test")
    loop = thread.start_loop()

    def make() -> HttpEndpoint:
        endpoint = HttpEndpoint(loop, "127.0.0.1", 0, **options)
        if configure is not None:
            configure(endpoint)
        endpoint.start()
        return endpoint

    endpoint = call_in_loop(loop, make)
    try:
        yield endpoint
    finally:
        call_in_loop(loop, endpoint.stop)
        thread.stop()


def connections(endpoint: HttpEndpoint) -> int:
    return call_in_loop(endpoint.server.loop, lambda: len(endpoint.server.connections))


def raw_exchange(port: int, data: bytes, tls: ssl.SSLContext | None = None, timeout: float = 5.0) -> bytes:
    """Send `data`, then read until the server closes: the whole answer, exactly as sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        sock = tls.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
        sock.sendall(data)
        return read_to_end(sock)


def read_to_end(sock: socket.socket) -> bytes:
    received = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except ssl.SSLEOFError:
            break
        if not chunk:
            break
        received += chunk
    return bytes(received)


def parse_answer(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one raw HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body
