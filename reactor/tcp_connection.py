"""One TCP connection, living and dying on one EventLoop."""

from __future__ import annotations

import enum
import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any

from reactor.buffer import Buffer
from reactor.channel import Channel
from reactor.tls_layer import TlsLayer

if TYPE_CHECKING:
    from reactor.event_loop import EventLoop
    from reactor.timer import Timer

log = logging.getLogger(__name__)

BytesLike = bytes | bytearray | memoryview

# Linux accepts at most this many buffers in one sendmsg (IOV_MAX).
_IOV_MAX = 1024
# MSG_NOSIGNAL: a write to a closed peer returns EPIPE instead of raising
# SIGPIPE, whatever the embedding program did with the signal's handler.
_SEND_FLAGS = socket.MSG_NOSIGNAL


class State(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTING = "disconnecting"
    DISCONNECTED = "disconnected"


# Module-level aliases: an Enum member lookup costs ~70 ns on Python 3.11,
# and the per-message path checks the state several times.
_CONNECTING = State.CONNECTING
_CONNECTED = State.CONNECTED
_DISCONNECTING = State.DISCONNECTING
_DISCONNECTED = State.DISCONNECTED


# TCP keepalive, the backstop for a peer that vanished without a FIN when nothing else notices
# (heartbeats do, sooner): probes after 30 s of silence, every 10 s, given up after 3 (60 s in all).
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES = 30, 10, 3


def _keep_alive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):  # Linux; elsewhere the system's defaults apply
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPALIVE_PROBES)


def _no_message(conn: TcpConnection, buffer: Buffer) -> None:
    buffer.skip(len(buffer))


class TcpConnection:
    """A non-blocking socket with an input Buffer and a queue of output buffers.

    Everything but `send`, `send_buffers`, `shutdown`, `force_close`,
    `start_reading` and `stop_reading` must run on the owning loop's thread;
    those six may be called from any thread, and post their state changes to
    the loop: `state` is written on the loop's thread only.

    A user callback that raises closes this connection (logged, and counted
    in the loop's `callback_errors`); the loop and its other connections go on.

    With `tls` (a TlsLayer), the connection stays CONNECTING until the TLS
    handshake is done, and only then calls `connection_callback`; a handshake
    that fails or takes over `handshake_timeout` closes it with one log line,
    and the user hears nothing of it (`tls_error` says why). After that every
    send is encrypted before it is queued, every read decrypted before the
    message callback sees it: the queue, water marks and write-complete work on
    the ciphertext, which is as long as the plaintext give or take 22 bytes a record.
    """

    DEFAULT_HIGH_WATER_MARK = 64 * 1024 * 1024
    # Free space asked of the input buffer before each recv_into.
    RECV_ROOM = 32 * 1024
    # An input buffer grown past this (by a large frame) is given back down to
    # Buffer.INITIAL_SIZE once nearly empty; below it, a stream of ordinary
    # video frames keeps its buffer instead of regrowing it for every frame.
    INPUT_SHRINK_ABOVE = 256 * 1024
    # A TLS handshake not done by then closes the connection (a peer that connects and says nothing).
    DEFAULT_HANDSHAKE_TIMEOUT = 10.0
    # Ciphertext taken from the socket per read under TLS.
    TLS_RECV_SIZE = 64 * 1024

    def __init__(self, loop: EventLoop, name: str, sock: socket.socket, peer_address: Any,
                 tls: TlsLayer | None = None) -> None:
        self.loop = loop
        self.name = name
        self.socket = sock
        self.peer_address = peer_address
        self.local_address = sock.getsockname()
        self.state = _CONNECTING
        # Empty until the first read: a connection that never sends (thousands may wait for a
        # login timeout) costs no buffer; the first read makes RECV_ROOM.
        self.input = Buffer(0)
        self._output: deque[BytesLike] = deque()
        self._output_bytes = 0
        # Bytes the kernel has taken, ever: with a count of what was sent, another thread can tell
        # how much a peer has left unread without touching the output queue.
        self.bytes_sent = 0
        # When queued output last moved (or began to wait): a peer that stops reading stalls it.
        self._progress_at = 0.0
        self.high_water_mark = self.DEFAULT_HIGH_WATER_MARK
        self.context: Any = None  # free for the application's per-connection state
        self.tls = tls
        self.handshake_timeout = self.DEFAULT_HANDSHAKE_TIMEOUT
        self._handshake_timer: Timer | None = None
        self._close_notify_sent = False
        self._corked: list[bytes] = []  # TLS plaintext of this loop round, see _cork
        self._corked_bytes = 0
        # Why the TLS handshake failed (an ssl.SSLError, TimeoutError, ConnectionError); None otherwise.
        self.tls_error: Exception | None = None
        # Called once the handshake is done, before the connection counts as up: raising
        # ssl.SSLError refuses the peer (a client checks a pinned key here).
        self.tls_peer_check: Callable[[TcpConnection], None] | None = None

        self.connection_callback: Callable[[TcpConnection], None] = lambda conn: None
        self.message_callback: Callable[[TcpConnection, Buffer], None] = _no_message
        self.write_complete_callback: Callable[[TcpConnection], None] | None = None
        self.high_water_mark_callback: Callable[[TcpConnection, int], None] | None = None
        # Set by TcpServer or TcpClient to drop their reference to us.
        self.close_callback: Callable[[TcpConnection], None] = lambda conn: None

        sock.setblocking(False)
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _keep_alive(sock)
        self._channel = Channel(loop, sock)
        self._channel.on_read = self._handle_read if tls is None else self._handle_tls_read
        self._channel.on_write = self._handle_write
        self._channel.on_error = self._handle_callback_error

    # -- state --------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.state is _CONNECTED

    @property
    def disconnected(self) -> bool:
        return self.state is _DISCONNECTED

    @property
    def output_bytes(self) -> int:
        """Bytes queued for the socket and not yet accepted by the kernel."""
        return self._output_bytes + self._corked_bytes

    @property
    def backlog_bytes(self) -> int:
        """Of those, the bytes the kernel has refused so far: 0 while the peer keeps up. (Under TLS
        the rest waits for the end of the loop's round, to go out in one write.)"""
        return self._output_bytes

    def output_stalled_for(self, now: float) -> float:
        """Seconds that queued output has waited with nothing written; 0 when nothing waits."""
        return now - self._progress_at if self._output_bytes else 0.0

    @property
    def is_reading(self) -> bool:
        return self._channel.is_reading

    @property
    def is_writing(self) -> bool:
        return self._channel.is_writing

    def set_high_water_mark(self, callback: Callable[[TcpConnection, int], None], nbytes: int) -> None:
        """Call back (queued) when queued output grows past `nbytes`."""
        self.high_water_mark_callback = callback
        self.high_water_mark = nbytes

    # -- life cycle (loop thread) ----------------------------------------

    def connect_established(self) -> None:
        self.loop.assert_in_loop_thread()
        assert self.state is _CONNECTING, self.state
        if self.tls is not None:
            self._channel.enable_reading()
            self._handshake_timer = self.loop.run_after(self.handshake_timeout, self._handshake_overdue)
            self._advance_handshake()  # the client's hello goes out now
            return
        self._become_connected()

    def _become_connected(self) -> None:
        self.state = _CONNECTED
        self._channel.enable_reading()
        try:
            self.connection_callback(self)
        except Exception:
            self._handle_close()  # set-up failed: the connection is of no use
            raise  # to the loop, which logs and counts it

    def connect_destroyed(self) -> None:
        """The last step of a connection: unregister and close the socket."""
        self.loop.assert_in_loop_thread()
        was_open = self.state is _CONNECTED or self.state is _DISCONNECTING
        self.state = _DISCONNECTED
        self._channel.disable_all()
        self._discard_output()
        if self.tls is not None:
            self._cancel_handshake_timer()  # destroyed mid-handshake (server stop)
        try:
            if was_open:  # closed by its owner (server stop), not by the peer: tell the user
                self.connection_callback(self)
        finally:
            self.socket.close()

    # -- sending (any thread) ---------------------------------------------

    def send(self, data: BytesLike) -> None:
        """Queue data for the peer; a no-op once the connection is closing."""
        if self.state is not _CONNECTED:
            return
        if threading.get_ident() == self.loop.thread_id:
            self._send_in_loop((data,))
        else:
            # The caller may reuse a mutable buffer as soon as we return.
            owned = data if isinstance(data, bytes) else bytes(data)
            self.loop.queue_in_loop(partial(self._send_in_loop, (owned,)))

    def send_buffers(self, buffers: Iterable[BytesLike]) -> None:
        """Send several buffers back to back, gathered into one sendmsg."""
        if self.state is not _CONNECTED:
            return
        if threading.get_ident() == self.loop.thread_id:
            self._send_in_loop(tuple(buffers))
        else:
            owned = tuple(b if isinstance(b, bytes) else bytes(b) for b in buffers)
            self.loop.queue_in_loop(partial(self._send_in_loop, owned))

    def send_in_loop(self, data: bytes) -> None:
        """`send` for callers already on the loop thread with an immutable buffer.

        The relay calls this once per receiver per frame, so it skips the
        thread check and builds no tuple: when the kernel takes the whole
        buffer, as it nearly always does, nothing is allocated.
        """
        if self.state is _CONNECTED:
            if self.tls is not None:
                self._cork(data)
            else:
                self._write_or_queue(data, None)

    def _send_in_loop(self, buffers: tuple[BytesLike, ...]) -> None:
        if self.state is not _CONNECTED:
            # Closing or closed meanwhile (force_close and shutdown reach the
            # loop in the order they were called, sends from any thread too).
            log.debug("%s: %s, dropping %d buffers", self.name, self.state.value, len(buffers))
            return
        if self.tls is not None:
            self._cork(buffers[0] if len(buffers) == 1 else b"".join(buffers))
        elif len(buffers) == 1:
            self._write_or_queue(buffers[0], None)
        else:
            self._write_or_queue(None, buffers)

    def _cork(self, data: BytesLike) -> None:
        """Under TLS, what is sent during one round of the loop is encrypted and written at the
        round's end, all at once: the frames the relay fans out to this peer meanwhile cost one
        encryption call and one syscall, not one each. Counted in `output_bytes` meanwhile (a
        bound on what one waits for must see it), not in `backlog_bytes` (nothing was refused)."""
        corked = self._corked
        corked.append(data if isinstance(data, bytes) else bytes(data))  # the caller may reuse its buffer
        self._corked_bytes += len(data)
        if len(corked) == 1:
            self.loop.queue_in_loop(self._uncork)

    def _uncork(self) -> None:
        corked = self._corked
        if not corked:
            return
        self._corked = []
        self._corked_bytes = 0
        # DISCONNECTING: sent before a shutdown or force_close was asked for, so it still goes.
        if self.tls is not None and (self.state is _CONNECTED or self.state is _DISCONNECTING):
            self._write_or_queue(self.tls.encrypt(corked[0] if len(corked) == 1 else b"".join(corked)), None)

    def _write_or_queue(self, data: BytesLike | None, buffers: tuple[BytesLike, ...] | None) -> None:
        """One buffer (`data`) or several (`buffers`): straight to the socket when nothing is
        queued, else behind the queue. Two arguments rather than a tuple always, so that the
        one-buffer case, the relay's, allocates nothing."""
        total = len(data) if buffers is None else sum(map(len, buffers))
        written = 0
        if not self._output:
            try:
                if buffers is None:
                    written = self.socket.send(data, _SEND_FLAGS)
                else:
                    written = self.socket.sendmsg(buffers, (), _SEND_FLAGS)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as exc:
                # We may be inside a user callback: close after it returns.
                log.info("%s: send failed (%s), closing", self.name, exc)
                self._discard_output()
                self.force_close()
                return
            self.bytes_sent += written
            if written == total:
                if self.write_complete_callback is not None:
                    self.loop.queue_in_loop(partial(self._notify, self.write_complete_callback))
                return
        self._enqueue((data,) if buffers is None else buffers, written, total - written)
        if not self._channel.is_writing:
            self._channel.enable_writing()

    def _enqueue(self, buffers: tuple[BytesLike, ...], skip: int, remaining: int) -> None:
        old = self._output_bytes
        new = old + remaining
        self._output_bytes = new
        if old == 0:
            self._progress_at = time.monotonic()  # output starts to wait: the stall clock starts
        if old < self.high_water_mark <= new and self.high_water_mark_callback is not None:
            self.loop.queue_in_loop(partial(self._notify, self.high_water_mark_callback, new))
        output = self._output
        for buf in buffers:
            size = len(buf)
            if skip >= size:
                skip -= size
                continue
            if isinstance(buf, bytes):
                output.append(memoryview(buf)[skip:] if skip else buf)
            else:
                # The caller may reuse a mutable buffer once send() returns.
                output.append(bytes(memoryview(buf)[skip:]))
            skip = 0

    def _handle_write(self) -> None:
        output = self._output
        try:
            if len(output) == 1:
                n = self.socket.send(output[0], _SEND_FLAGS)
            else:
                n = self.socket.sendmsg(list(islice(output, _IOV_MAX)), (), _SEND_FLAGS)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._handle_error("send", exc)
            return
        self._output_bytes -= n
        self.bytes_sent += n
        if n:
            self._progress_at = time.monotonic()
        while n:
            head = output[0]
            size = len(head)
            if n >= size:
                output.popleft()
                n -= size
            else:
                output[0] = memoryview(head)[n:]
                n = 0
        if not output:
            self._channel.disable_writing()
            # (while CONNECTING, what drained was our part of the TLS handshake)
            if self.write_complete_callback is not None and self.state is not _CONNECTING:
                self.loop.queue_in_loop(partial(self._notify, self.write_complete_callback))
            if self.state is _DISCONNECTING:
                self._shutdown_write()

    def _discard_output(self) -> None:
        self._output.clear()
        self._output_bytes = 0
        self._corked = []
        self._corked_bytes = 0

    def _notify(self, callback: Callable[..., None], *args: Any) -> None:
        """Run a queued user callback; one that raises closes this connection."""
        try:
            callback(self, *args)
        except Exception:
            self._handle_close()
            raise  # to the loop, which logs and counts it

    # -- receiving (loop thread) -------------------------------------------

    def _handle_read(self) -> None:
        try:
            n = self.input.recv_into(self.socket, self.RECV_ROOM)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._handle_error("recv", exc)
            return
        if n:
            buffer = self.input
            self.message_callback(self, buffer)
            if buffer.capacity > self.INPUT_SHRINK_ABOVE and len(buffer) <= self.RECV_ROOM:
                buffer.shrink()  # a large frame has gone: give its memory back
        else:
            self._handle_close()

    # -- TLS (loop thread) ---------------------------------------------------

    def _handle_tls_read(self) -> None:
        try:
            data = self.socket.recv(self.TLS_RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._handle_error("recv", exc)
            return
        tls = self.tls
        assert tls is not None
        if not data:
            if not tls.handshake_done:
                # A port probe or a health check more often than an attack: not worth a warning.
                self._handshake_failed(ConnectionResetError("closed by the peer during the TLS handshake"),
                                       logging.INFO)
            else:
                self._handle_close()  # unexpected EOF (no close_notify): the same as a clean end to us
            return
        tls.feed(data)
        if not tls.handshake_done:
            self._advance_handshake()
            if self.state is not _CONNECTED:
                return  # still shaking hands, or refused, or closed by the connection callback
        buffer = self.input
        before = len(buffer)
        try:
            still_open = tls.read_into(buffer.fill)
        except ssl.SSLError as exc:
            log.warning("%s from %s: TLS error (%s); closing", self.name, self.peer_address, _reason(exc))
            self._handle_close()
            return
        self._flush_tls()  # a key update's answer, if the peer asked for one
        if len(buffer) > before:
            self.message_callback(self, buffer)
            if buffer.capacity > self.INPUT_SHRINK_ABOVE and len(buffer) <= self.RECV_ROOM:
                buffer.shrink()
        if not still_open:
            if not self._close_notify_sent:  # answer the peer's close_notify with ours: a clean end
                self._close_notify_sent = True
                self.tls.close_notify()
                self._flush_tls()
            self._handle_close()

    def _advance_handshake(self) -> None:
        tls = self.tls
        assert tls is not None
        try:
            done = tls.do_handshake()
        except ssl.SSLError as exc:
            self._flush_tls()  # our alert, so that the peer learns why
            self._handshake_failed(exc)
            return
        self._flush_tls()
        if not done:
            return
        self._cancel_handshake_timer()
        if self.tls_peer_check is not None:
            try:
                self.tls_peer_check(self)
            except ssl.SSLError as exc:
                self._handshake_failed(exc)
                return
        log.debug("%s: TLS up with %s: %s", self.name, self.peer_address, tls.describe())
        self._become_connected()

    def _handshake_failed(self, exc: Exception, level: int = logging.WARNING) -> None:
        self.tls_error = exc
        # One line, no traceback: a plaintext client or a port scanner is not our bug.
        log.log(level, "%s from %s: TLS handshake failed (%s); closing", self.name, self.peer_address,
                _reason(exc))
        self._handle_close()

    def _handshake_overdue(self) -> None:
        self._handshake_timer = None
        if self.state is _CONNECTING:
            self._handshake_failed(TimeoutError(f"not done within {self.handshake_timeout:g} s"))

    def _cancel_handshake_timer(self) -> None:
        if self._handshake_timer is not None:
            self.loop.cancel(self._handshake_timer)
            self._handshake_timer = None

    def _flush_tls(self) -> None:
        """Send what the TLS layer wrote by itself (handshake, alerts), behind any queued output."""
        assert self.tls is not None
        out = self.tls.take_output()
        if not out:
            return
        written = 0
        if not self._output:
            try:
                written = self.socket.send(out, _SEND_FLAGS)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError as exc:
                log.info("%s: send failed (%s), closing", self.name, exc)
                self._discard_output()
                self.force_close()
                return
        if written < len(out):
            self._enqueue((out,), written, len(out) - written)
            if not self._channel.is_writing:
                self._channel.enable_writing()

    def start_reading(self) -> None:
        """Resume reading (flow control); safe from any thread."""
        self.loop.run_in_loop(self._start_reading_in_loop)

    def stop_reading(self) -> None:
        """Stop reading, so that the peer's sends back up (flow control)."""
        self.loop.run_in_loop(self._stop_reading_in_loop)

    def _start_reading_in_loop(self) -> None:
        if self.state is _CONNECTED or self.state is _DISCONNECTING:
            if self._channel.is_reading:
                return
            self._channel.enable_reading()
            if len(self.input):
                # Bytes read before the pause may hold whole messages: no new data would bring them.
                try:
                    self.message_callback(self, self.input)
                except Exception:
                    self._handle_callback_error()

    def _stop_reading_in_loop(self) -> None:
        if self.state is _CONNECTED or self.state is _DISCONNECTING:
            self._channel.disable_reading()

    # -- closing ------------------------------------------------------------

    def shutdown(self) -> None:
        """Half-close: send FIN once all queued output has gone; keep reading."""
        self.loop.run_in_loop(self._shutdown_in_loop)

    def _shutdown_in_loop(self) -> None:
        if self.state is _CONNECTED:
            self.state = _DISCONNECTING
            self._shutdown_write()

    def _shutdown_write(self) -> None:
        if self._channel.is_writing or self.state is _DISCONNECTED:
            return  # _handle_write calls us again once the output has drained
        if self.tls is not None and not self._close_notify_sent:
            self._uncork()  # what was sent before the shutdown goes before the alert
            if self._channel.is_writing:
                return  # _handle_write calls us again once that has drained
            self._close_notify_sent = True
            self.tls.close_notify()
            self._flush_tls()
            if self._channel.is_writing:
                return  # the alert waits behind the queue: FIN after it
        try:
            self.socket.shutdown(socket.SHUT_WR)
        except OSError as exc:
            log.debug("%s: shutdown: %s", self.name, exc)

    def force_close(self) -> None:
        """Close now, dropping queued output; safe from any thread and from
        inside this connection's own callbacks (the close runs after them)."""
        self.loop.run_in_loop(self._force_close_in_loop)

    def _force_close_in_loop(self) -> None:
        if self.state is _CONNECTING and self.tls is not None and self._channel.is_reading:
            self.loop.queue_in_loop(self._close_if_open)  # mid-handshake: it never came up
        elif self.state is _CONNECTED or self.state is _DISCONNECTING:
            # Closing from here on: sends are dropped, and the close itself
            # waits until the callback we may be inside of has returned.
            self.state = _DISCONNECTING
            self.loop.queue_in_loop(self._close_if_open)

    def _close_if_open(self) -> None:
        if self.state is not _DISCONNECTED:
            self._handle_close()

    def _handle_error(self, operation: str, exc: OSError) -> None:
        log.info("%s: %s failed (%s), closing", self.name, operation, exc)
        self._handle_close()

    def _handle_callback_error(self) -> None:
        """The loop caught an exception from one of our event handlers, most
        likely from a user callback: log it with its traceback, and close."""
        log.exception("%s: callback failed; closing the connection", self.name)
        self._handle_close()

    def _handle_close(self) -> None:
        if self.state is _DISCONNECTED:
            return
        was_up = self.state is not _CONNECTING  # a TLS handshake that failed was never up
        self.state = _DISCONNECTED
        self._channel.disable_all()
        self._discard_output()
        if self.tls is not None:
            self._cancel_handshake_timer()
        try:
            if was_up:
                self.connection_callback(self)
        finally:
            self.close_callback(self)  # whatever the user did, the owner forgets us

    def __repr__(self) -> str:
        return f"<TcpConnection {self.name} {self.state.value} peer={self.peer_address}>"


def _reason(exc: Exception) -> str:
    """An SSL error's short reason (WRONG_VERSION_NUMBER, CERTIFICATE_VERIFY_FAILED ...), else the message."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason
    return str(exc) or type(exc).__name__
