"""Accepts on a base loop and spreads connections over a pool of I/O loops."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from functools import partial
from typing import Any

from reactor.acceptor import Acceptor
from reactor.buffer import Buffer
from reactor.connections_per_address import ConnectionsPerAddress
from reactor.event_loop import EventLoop
from reactor.event_loop_thread_pool import EventLoopThreadPool
from reactor.tcp_connection import TcpConnection
from reactor.tls_layer import TlsLayer

log = logging.getLogger(__name__)


class TcpServer:
    """muduo's TcpServer: each connection lives on one I/O loop, round robin.

    Callbacks run on the connection's own loop. The table of connections is
    kept by the base loop, which alone adds and removes entries. With
    `tls_context` every connection speaks TLS (see TcpConnection).
    """

    def __init__(self, loop: EventLoop, host: str, port: int, name: str = "server",
                 threads: int = 0, reuse_port: bool = False,
                 thread_pool: EventLoopThreadPool | None = None) -> None:
        self.loop = loop
        self.name = name
        self.acceptor = Acceptor(loop, host, port, reuse_port)
        self.acceptor.new_connection_callback = self._new_connection
        # Several servers (ports) may share one pool of I/O loops; whoever made
        # a shared pool starts and stops it.
        self._owns_pool = thread_pool is None
        self.thread_pool = thread_pool or EventLoopThreadPool(loop, threads, name)
        self.connections: dict[str, TcpConnection] = {}
        self._next_id = 1
        self.started = False

        self.connection_callback: Callable[[TcpConnection], None] = lambda conn: None
        self.message_callback: Callable[[TcpConnection, Buffer], None] | None = None
        self.write_complete_callback: Callable[[TcpConnection], None] | None = None
        self.high_water_mark_callback: Callable[[TcpConnection, int], None] | None = None
        self.high_water_mark = TcpConnection.DEFAULT_HIGH_WATER_MARK
        self.thread_init_callback: Callable[[EventLoop], None] | None = None
        self.tls_context: ssl.SSLContext | None = None
        self.handshake_timeout = TcpConnection.DEFAULT_HANDSHAKE_TIMEOUT
        # Shared by several servers (ports) of one application: one address may not take every fd.
        self.per_address: ConnectionsPerAddress | None = None

    @property
    def address(self) -> tuple:
        return self.acceptor.address

    @property
    def port(self) -> int:
        return self.acceptor.address[1]

    def start(self) -> None:
        """Start the I/O threads and listen; call on the base loop's thread."""
        self.loop.assert_in_loop_thread()
        if self.started:
            return
        self.started = True
        if self._owns_pool:
            self.thread_pool.start(self.thread_init_callback)
        self.acceptor.listen()

    def stop_accepting(self) -> None:
        """Close the listening socket; live connections go on."""
        self.acceptor.close()

    def stop(self) -> None:
        """Stop accepting, close every connection, stop the I/O threads (if ours)."""
        self.stop_accepting()
        connections, self.connections = self.connections, {}
        for conn in connections.values():
            conn.loop.run_in_loop(conn.connect_destroyed)
        if self._owns_pool:
            self.thread_pool.stop()

    def _new_connection(self, sock: socket.socket, peer_address: Any) -> None:
        self.loop.assert_in_loop_thread()
        per_address = self.per_address
        if per_address is not None and not per_address.admit(_host(peer_address)):
            sock.close()  # at once: a refused connection costs no loop, timer or buffer
            return
        io_loop = self.thread_pool.get_next_loop()
        name = f"{self.name}#{self._next_id}"
        self._next_id += 1
        try:
            tls = None if self.tls_context is None else TlsLayer(self.tls_context, True, None)
            conn = TcpConnection(io_loop, name, sock, peer_address, tls)
        except OSError as exc:  # the peer may already have gone (getsockname fails)
            log.info("%s: new connection from %s failed at once: %s", self.name, peer_address, exc)
            sock.close()
            if per_address is not None:
                per_address.release(_host(peer_address))
            return
        conn.connection_callback = self.connection_callback
        if self.message_callback is not None:
            conn.message_callback = self.message_callback
        conn.write_complete_callback = self.write_complete_callback
        conn.high_water_mark_callback = self.high_water_mark_callback
        conn.high_water_mark = self.high_water_mark
        conn.handshake_timeout = self.handshake_timeout
        conn.close_callback = self._remove_connection
        self.connections[name] = conn
        io_loop.run_in_loop(conn.connect_established)

    def _remove_connection(self, conn: TcpConnection) -> None:
        # Called on the connection's loop; the table belongs to the base loop.
        self.loop.run_in_loop(partial(self._remove_connection_in_loop, conn))

    def _remove_connection_in_loop(self, conn: TcpConnection) -> None:
        if self.connections.pop(conn.name, None) is not None and self.per_address is not None:
            self.per_address.release(_host(conn.peer_address))
        # Queued, not run: the connection may still be inside its own handler.
        conn.loop.queue_in_loop(conn.connect_destroyed)


def _host(peer_address: Any) -> str:
    """The address part of a peer address (a UNIX socket's peer has none: one shared key)."""
    return peer_address[0] if isinstance(peer_address, tuple) and peer_address else str(peer_address)
