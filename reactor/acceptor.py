"""A listening socket that hands each accepted socket to a callback."""

from __future__ import annotations

import errno
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from reactor.channel import Channel

if TYPE_CHECKING:
    from reactor.event_loop import EventLoop

log = logging.getLogger(__name__)

# Errors that concern one pending connection, not the listener: skip it.
_TRANSIENT_ACCEPT_ERRORS = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM, errno.ENETDOWN,
                            errno.ENOPROTOOPT, errno.EHOSTDOWN, errno.ENONET,
                            errno.EHOSTUNREACH, errno.EOPNOTSUPP, errno.ENETUNREACH}


def create_listening_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """A non-blocking, bound (not yet listening) TCP socket for host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Acceptor:
    """Accepts on one loop; keeps a spare fd for muduo's answer to EMFILE.

    When the process runs out of fds, a level-triggered listener stays
    readable and the loop would spin. So the spare fd is closed, the waiting
    connection accepted and closed at once (the client sees a clean close
    rather than a hang), and the spare is opened again.
    """

    ACCEPTS_PER_WAKEUP = 64
    BACKLOG = 1024

    def __init__(self, loop: EventLoop, host: str, port: int, reuse_port: bool = False) -> None:
        self.loop = loop
        self.socket = create_listening_socket(host, port, reuse_port)
        self.new_connection_callback: Callable[[socket.socket, Any], None] | None = None
        self.listening = False
        self.shed_connections = 0
        self._last_shed_log = 0.0
        self._spare_fd = self._open_spare()
        self._channel = Channel(loop, self.socket)
        self._channel.on_read = self._handle_read

    @property
    def address(self) -> tuple:
        return self.socket.getsockname()

    def listen(self) -> None:
        self.loop.assert_in_loop_thread()
        self.listening = True
        self.socket.listen(self.BACKLOG)
        self._channel.enable_reading()

    def close(self) -> None:
        """Stop listening and release the fds; safe to call twice."""
        self.loop.assert_in_loop_thread()
        if self.socket.fileno() == -1:
            return
        self._channel.disable_all()
        self.socket.close()
        if self._spare_fd >= 0:
            os.close(self._spare_fd)
            self._spare_fd = -1
        self.listening = False

    def _handle_read(self) -> None:
        # Bounded so that a connection storm cannot starve the loop's other fds.
        for _ in range(self.ACCEPTS_PER_WAKEUP):
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    self._shed_one_connection(exc)
                    continue
                if exc.errno in _TRANSIENT_ACCEPT_ERRORS:
                    log.info("accept: %s (skipped)", exc)
                    continue
                log.error("accept failed: %s", exc)
                return
            if self.new_connection_callback is None:
                sock.close()
            else:
                self.new_connection_callback(sock, address)

    def _shed_one_connection(self, exc: OSError) -> None:
        self.shed_connections += 1
        now = time.monotonic()
        if now - self._last_shed_log >= 1.0:
            self._last_shed_log = now
            log.error("accept: %s; closing new connections until fds free up (%d so far)",
                      exc, self.shed_connections)
        if self._spare_fd >= 0:
            os.close(self._spare_fd)
            self._spare_fd = -1
        try:
            sock, _ = self.socket.accept()
            sock.close()
        except OSError:
            pass
        finally:
            self._spare_fd = self._open_spare()

    @staticmethod
    def _open_spare() -> int:
        try:
            return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return -1
