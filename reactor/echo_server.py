"""An echo service with flow control: the reactor's demo and benchmark server."""

from __future__ import annotations

import logging

from reactor.buffer import Buffer
from reactor.event_loop import EventLoop
from reactor.tcp_connection import TcpConnection
from reactor.tcp_server import TcpServer

log = logging.getLogger(__name__)


class EchoServer:
    """Sends back whatever arrives.

    A peer that sends but never reads would make us queue without bound; so
    past the high-water mark we stop reading from it until our output drains,
    and its own sends back up in the kernel instead of in our memory.
    """

    def __init__(self, loop: EventLoop, host: str, port: int, threads: int = 0,
                 high_water_mark: int = 4 * 1024 * 1024) -> None:
        self.server = TcpServer(loop, host, port, "echo", threads)
        self.server.connection_callback = self._on_connection
        self.server.message_callback = self._on_message
        self.server.high_water_mark = high_water_mark
        self.server.high_water_mark_callback = self._on_high_water

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @staticmethod
    def _on_connection(conn: TcpConnection) -> None:
        log.info("%s %s %s", conn.name, conn.peer_address, "up" if conn.connected else "down")

    @staticmethod
    def _on_message(conn: TcpConnection, buffer: Buffer) -> None:
        conn.send(buffer.retrieve_all())

    @classmethod
    def _on_high_water(cls, conn: TcpConnection, queued: int) -> None:
        log.debug("%s: %d bytes queued, pausing reads", conn.name, queued)
        conn.stop_reading()
        # Watched only while paused: a write-complete call per echoed message
        # would cost the common case a queued callback each time.
        conn.write_complete_callback = cls._on_drained

    @staticmethod
    def _on_drained(conn: TcpConnection) -> None:
        conn.write_complete_callback = None
        if conn.connected:
            conn.start_reading()
