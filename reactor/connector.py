"""Active connect with retry and exponential back-off."""

from __future__ import annotations

import errno
import itertools
import logging
import socket
import threading
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from reactor.channel import Channel
from reactor.timer import Timer

if TYPE_CHECKING:
    from reactor.event_loop import EventLoop

log = logging.getLogger(__name__)

_IN_PROGRESS = {0, errno.EINPROGRESS, errno.EINTR, errno.EISCONN}
_RETRYABLE = {errno.EAGAIN, errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.ECONNREFUSED,
              errno.ENETUNREACH, errno.ETIMEDOUT, errno.EHOSTUNREACH}

_lookup_ids = itertools.count(1)

Address = tuple[int, Any]  # (family, sockaddr), as getaddrinfo gives them


def _numeric_family(host: str) -> int | None:
    """AF_INET or AF_INET6 for a numeric address, None for a name to look up."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family
    return None


class Connector:
    """Connects to one address until it succeeds or is stopped.

    Runs on its loop's thread; `start` and `stop` may be called from any.
    The connected socket goes to `new_connection_callback`. A host name is
    looked up on a short-lived thread, never on the loop (getaddrinfo blocks);
    each of its addresses is tried in turn, and a failed or overdue lookup
    is retried with the same back-off as a refused connection.

    The wait before each new try is `next_delay()` when one is given (a
    client's reconnect policy, e.g. with jitter), else the reactor's own
    doubling from INITIAL_RETRY_DELAY to MAX_RETRY_DELAY.
    """

    INITIAL_RETRY_DELAY = 0.5
    MAX_RETRY_DELAY = 30.0
    LOOKUP_TIMEOUT = 10.0

    def __init__(self, loop: EventLoop, address: tuple[str, int],
                 next_delay: Callable[[], float] | None = None) -> None:
        self.loop = loop
        self.address = address
        self.new_connection_callback: Callable[[socket.socket], None] | None = None
        self._next_delay = next_delay if next_delay is not None else self._doubled_delay
        self.retry_delay = self.INITIAL_RETRY_DELAY  # the doubling's next wait
        # Tries so far: one per (re)start or back-off, a name lookup and
        # the addresses it gave counting as one.
        self.attempts = 0
        self._wanted = False
        self._socket: socket.socket | None = None
        self._channel: Channel | None = None
        self._retry_timer: Timer | None = None
        self._addresses: list[Address] = []  # of this try, not yet dialled
        self._lookup = 0  # id of the lookup in flight, 0 when none
        self._lookup_timer: Timer | None = None

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
        # A back-off still pending would dial a second time once this try has connected.
        self._cancel_retry()
        if self._wanted and self._socket is None and not self._lookup:
            self.attempts += 1
            family = _numeric_family(self.address[0])
            if family is None:
                self._start_lookup()
            else:
                self._addresses = [(family, self.address)]
                self._connect_next()

    def _stop_in_loop(self) -> None:
        self._cancel_retry()
        self._end_lookup()
        self._addresses = []
        if self._socket is not None:
            self._release_socket().close()

    # -- name lookup --------------------------------------------------------

    def _start_lookup(self) -> None:
        lookup = self._lookup = next(_lookup_ids)
        host, port = self.address
        thread = threading.Thread(target=self._look_up, args=(lookup, host, port),
                                  name=f"lookup {host}", daemon=True)
        try:
            thread.start()
        except RuntimeError as exc:  # no thread to be had: as good as a failed lookup
            self._lookup = 0
            self._retry(f"name lookup not started: {exc}")
            return
        self._lookup_timer = self.loop.run_after(self.LOOKUP_TIMEOUT, partial(self._lookup_overdue, lookup))

    def _look_up(self, lookup: int, host: str, port: int) -> None:
        """On the lookup's own thread: the answer goes back to the loop."""
        result: list[Address] | Exception
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            result = [(family, sockaddr) for family, _, _, _, sockaddr in infos]
        except Exception as exc:  # gaierror, or UnicodeError for a name IDNA refuses
            result = exc
        self.loop.run_in_loop(partial(self._looked_up, lookup, result))

    def _looked_up(self, lookup: int, result: list[Address] | Exception) -> None:
        if lookup != self._lookup:
            return  # stopped or overdue meanwhile: a newer try owns the connector
        self._end_lookup()
        if isinstance(result, Exception):
            self._retry(f"name lookup failed: {result}")
        elif not result:
            self._retry("name lookup gave no address")
        elif self._wanted:
            self._addresses = result
            self._connect_next()

    def _lookup_overdue(self, lookup: int) -> None:
        if lookup == self._lookup:
            self._lookup_timer = None
            self._end_lookup()
            self._retry(f"name lookup took over {self.LOOKUP_TIMEOUT:.0f}s")

    def _end_lookup(self) -> None:
        self._lookup = 0
        if self._lookup_timer is not None:
            self.loop.cancel(self._lookup_timer)
            self._lookup_timer = None

    # -- connecting ---------------------------------------------------------

    def _connect_next(self) -> None:
        family, sockaddr = self._addresses.pop(0)
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:  # EMFILE, or a family this host lacks
            self._retry(f"socket: {exc}")
            return
        sock.setblocking(False)
        err = sock.connect_ex(sockaddr)  # numeric: nothing to look up here
        if err in _IN_PROGRESS:
            self._socket = sock
            self._channel = Channel(self.loop, sock)
            self._channel.on_write = self._handle_write
            self._channel.enable_writing()
        elif err in _RETRYABLE or self._addresses:
            sock.close()
            self._retry(errno.errorcode.get(err, str(err)))
        else:
            sock.close()
            log.error("connect to %s: %s; giving up", self.address, errno.errorcode.get(err, err))

    def _handle_write(self) -> None:
        sock = self._release_socket()
        try:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self_connected = not err and sock.getsockname() == sock.getpeername()
        except OSError as exc:  # reset as soon as it connected
            err, self_connected = exc.errno or errno.ECONNRESET, False
        if err:
            sock.close()
            self._retry(errno.errorcode.get(err, str(err)))
        elif self_connected:
            # A port in the ephemeral range can connect to itself when nothing listens.
            sock.close()
            self._retry("self-connect")
        elif not self._wanted or self.new_connection_callback is None:
            sock.close()
        else:
            self._addresses = []
            self.retry_delay = self.INITIAL_RETRY_DELAY
            self.new_connection_callback(sock)

    def _release_socket(self) -> socket.socket:
        assert self._socket is not None and self._channel is not None
        self._channel.disable_all()
        sock, self._socket, self._channel = self._socket, None, None
        return sock

    def _retry(self, reason: str) -> None:
        """The next address of this try at once; after the last, back off and try again."""
        if not self._wanted:
            return
        if self._addresses:
            log.info("connect to %s failed (%s); trying its next address", self.address, reason)
            self._connect_next()
            return
        delay = self._next_delay()
        log.info("connect to %s failed (%s); retrying in %.2fs", self.address, reason, delay)
        self._retry_timer = self.loop.run_after(delay, self._start_in_loop)

    def _doubled_delay(self) -> float:
        delay = self.retry_delay
        self.retry_delay = min(delay * 2, self.MAX_RETRY_DELAY)
        return delay

    def _cancel_retry(self) -> None:
        if self._retry_timer is not None:
            self.loop.cancel(self._retry_timer)
            self._retry_timer = None
