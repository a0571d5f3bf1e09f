"""Active connect with retry and exponential back-off."""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from reactor.channel import Channel
from reactor.timer import Timer

if TYPE_CHECKING:
    from reactor.event_loop import EventLoop

log = logging.getLogger(__name__)

_IN_PROGRESS = {0, errno.EINPROGRESS, errno.EINTR, errno.EISCONN}
_RETRYABLE = {errno.EAGAIN, errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.ECONNREFUSED,
              errno.ENETUNREACH, errno.ETIMEDOUT, errno.EHOSTUNREACH}


class Connector:
    """Connects to one address until it succeeds or is stopped.

    Runs on its loop's thread; `start` and `stop` may be called from any.
    The connected socket goes to `new_connection_callback`.
    """

    INITIAL_RETRY_DELAY = 0.5
    MAX_RETRY_DELAY = 30.0

    def __init__(self, loop: EventLoop, address: tuple[str, int]) -> None:
        self.loop = loop
        self.address = address
        self.new_connection_callback: Callable[[socket.socket], None] | None = None
        self.retry_delay = self.INITIAL_RETRY_DELAY
        self.attempts = 0
        self._wanted = False
        self._socket: socket.socket | None = None
        self._channel: Channel | None = None
        self._retry_timer: Timer | None = None

    def start(self) -> None:
        self._wanted = True
        self.loop.run_in_loop(self._start_in_loop)

    def stop(self) -> None:
        self._wanted = False
        self.loop.queue_in_loop(self._stop_in_loop)

    def restart(self) -> None:
        """Connect again from the initial back-off; loop thread only."""
        self.loop.assert_in_loop_thread()
        self.retry_delay = self.INITIAL_RETRY_DELAY
        self._wanted = True
        self._start_in_loop()

    def _start_in_loop(self) -> None:
        self.loop.assert_in_loop_thread()
        self._retry_timer = None
        if self._wanted and self._socket is None:
            self._connect()

    def _stop_in_loop(self) -> None:
        if self._retry_timer is not None:
            self.loop.cancel(self._retry_timer)
            self._retry_timer = None
        if self._socket is not None:
            self._release_socket().close()

    def _connect(self) -> None:
        self.attempts += 1
        family = socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        err = sock.connect_ex(self.address)
        if err in _IN_PROGRESS:
            self._socket = sock
            self._channel = Channel(self.loop, sock)
            self._channel.on_write = self._handle_write
            self._channel.enable_writing()
        elif err in _RETRYABLE:
            sock.close()
            self._retry(errno.errorcode.get(err, str(err)))
        else:
            sock.close()
            log.error("connect to %s: %s; giving up", self.address, errno.errorcode.get(err, err))

    def _handle_write(self) -> None:
        sock = self._release_socket()
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            sock.close()
            self._retry(errno.errorcode.get(err, str(err)))
        elif sock.getsockname() == sock.getpeername():
            # A port in the ephemeral range can connect to itself when nothing listens.
            sock.close()
            self._retry("self-connect")
        elif not self._wanted or self.new_connection_callback is None:
            sock.close()
        else:
            self.retry_delay = self.INITIAL_RETRY_DELAY
            self.new_connection_callback(sock)

    def _release_socket(self) -> socket.socket:
        assert self._socket is not None and self._channel is not None
        self._channel.disable_all()
        sock, self._socket, self._channel = self._socket, None, None
        return sock

    def _retry(self, reason: str) -> None:
        if not self._wanted:
            return
        log.info("connect to %s failed (%s); retrying in %.1fs", self.address, reason, self.retry_delay)
        self._retry_timer = self.loop.run_after(self.retry_delay, self._start_in_loop)
        self.retry_delay = min(self.retry_delay * 2, self.MAX_RETRY_DELAY)
