"""One outgoing connection, reconnecting if asked to."""

from __future__ import annotations

import itertools
import logging
import socket
import threading
from collections.abc import Callable

from reactor.buffer import Buffer
from reactor.connector import Connector
from reactor.event_loop import EventLoop
from reactor.tcp_connection import TcpConnection

log = logging.getLogger(__name__)

_ids = itertools.count(1)


class TcpClient:
    """A Connector plus the TcpConnection it yields, on one loop.

    With `retry`, a connection that closes is dialled again with back-off
    (`next_delay` gives the waits, as for Connector).
    """

    def __init__(self, loop: EventLoop, address: tuple[str, int], name: str = "client",
                 retry: bool = False, next_delay: Callable[[], float] | None = None) -> None:
        self.loop = loop
        self.name = name
        self.retry = retry
        self.connector = Connector(loop, address, next_delay)
        self.connector.new_connection_callback = self._new_connection
        self._connection: TcpConnection | None = None
        self._lock = threading.Lock()  # `connection` is read from other threads
        self._wanted = False

        self.connection_callback: Callable[[TcpConnection], None] = lambda conn: None
        self.message_callback: Callable[[TcpConnection, Buffer], None] | None = None
        self.write_complete_callback: Callable[[TcpConnection], None] | None = None

    @property
    def connection(self) -> TcpConnection | None:
        with self._lock:
            return self._connection

    def connect(self) -> None:
        self._wanted = True
        self.connector.start()

    def disconnect(self) -> None:
        """Half-close the live connection, and do not reconnect."""
        self._wanted = False
        conn = self.connection
        if conn is not None:
            conn.shutdown()

    def stop(self) -> None:
        """Stop connecting (a live connection stays up)."""
        self._wanted = False
        self.connector.stop()

    def _new_connection(self, sock: socket.socket) -> None:
        self.loop.assert_in_loop_thread()
        try:
            conn = TcpConnection(self.loop, f"{self.name}#{next(_ids)}", sock, sock.getpeername())
        except OSError as exc:  # the server reset it at once
            log.info("%s: connection to %s lost at once: %s", self.name, self.connector.address, exc)
            sock.close()
            if self.retry and self._wanted:
                self.connector.restart()
            return
        conn.connection_callback = self.connection_callback
        if self.message_callback is not None:
            conn.message_callback = self.message_callback
        conn.write_complete_callback = self.write_complete_callback
        conn.close_callback = self._remove_connection
        with self._lock:
            self._connection = conn
        conn.connect_established()

    def _remove_connection(self, conn: TcpConnection) -> None:
        self.loop.assert_in_loop_thread()
        with self._lock:
            if self._connection is conn:
                self._connection = None
        self.loop.queue_in_loop(conn.connect_destroyed)
        if self.retry and self._wanted:
            log.info("%s: connection to %s lost; reconnecting", self.name, self.connector.address)
            self.connector.restart()
