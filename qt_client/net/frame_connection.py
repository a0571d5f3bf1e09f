"""One client connection speaking protocol frames: requests with replies, pushes, media."""

from __future__ import annotations

import concurrent.futures
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from protocol import strict_json
from protocol.framing import (
    MAX_AUDIO_FRAME,
    MAX_FRAME_SIZE,
    MAX_VIDEO_FRAME,
    FrameError,
    FrameKind,
    frame_prefix,
    split_frame,
)
from protocol.media import MEDIA_HEADER, MediaHeader, parse_media_header
from protocol.messages import encode_message
from qt_client.net.errors import NotConnectedError
from qt_client.net.pending_requests import PendingRequests, ResultHook
from qt_client.net.server_trust import KeyMismatch
from reactor.event_loop import EventLoop
from reactor.length_frame_codec import LengthFrameCodec
from reactor.tcp_client import TcpClient
from reactor.tcp_connection import TcpConnection
from reactor.timer import Timer

log = logging.getLogger(__name__)

# The server closes a connection that sends a longer frame (length counts the kind byte).
MAX_MEDIA_PAYLOAD = MAX_VIDEO_FRAME - 1 - MEDIA_HEADER.size
MAX_AUDIO_PAYLOAD = MAX_AUDIO_FRAME - 1 - MEDIA_HEADER.size

PushCallback = Callable[[dict[str, Any]], None]
MediaCallback = Callable[[MediaHeader, memoryview], None]


def _ignore(*_args: Any) -> None:
    pass


class FrameConnection:
    """A TcpClient whose frames are decoded: replies complete futures, the rest go to callbacks.

    The callbacks (`on_up`, `on_down`, `on_push`, `on_media`) run on the
    loop's thread; one that raises is logged and the connection goes on.
    `request`, `send_media` and `close` may be called from any thread.

    With `next_delay` (a ReconnectPolicy's), a failed dial and a dropped
    connection are dialled again after the wait it gives, until stopped.

    `tls_setup(tcp_client)` runs before each `start` and sets the TLS the
    connection speaks (see ServerTrust.configure). A handshake refused for
    trust (a certificate no CA vouches for, a key that is not the pinned
    one) stops all dialling: `tls_error` says why, `wait_up` returns False
    and `on_refused(error)` runs. Any other failed handshake counts as a drop.
    """

    def __init__(self, loop: EventLoop, address: tuple[str, int], name: str, *,
                 next_delay: Callable[[], float] | None = None,
                 tls_setup: Callable[[TcpClient], None] | None = None) -> None:
        self.loop = loop
        self.name = name
        self._next_delay = next_delay
        self._tls_setup = tls_setup
        self.tls_error: Exception | None = None
        self._client = TcpClient(loop, address, name, next_delay=next_delay)
        self._client.tls_failed_callback = self._on_tls_failed
        self._redial_timer: Timer | None = None  # loop thread only
        self._codec = LengthFrameCodec(self._on_frame, max_frame_size=MAX_FRAME_SIZE, min_frame_size=1)
        self._client.connection_callback = self._on_connection
        self._client.message_callback = self._codec.on_message
        self._pending = PendingRequests()
        # Guards `_is_up` and `_stopping`, so that wait_up also wakes when the connection is closed.
        self._changed = threading.Condition()
        self._is_up = False
        self._stopping = False
        self._closed = threading.Event()  # set once closed by us and the socket is released
        # time.monotonic() of the last frame from the server: how a silent server is told from a live one.
        self._last_received = time.monotonic()

        self.on_up: Callable[[], None] = _ignore
        self.on_down: Callable[[], None] = _ignore
        self.on_push: PushCallback = _ignore
        self.on_media: MediaCallback = _ignore
        self.on_refused: Callable[[Exception], None] = _ignore

    @property
    def connected(self) -> bool:
        return self._is_up

    @property
    def last_received(self) -> float:
        """time.monotonic() when the last frame arrived (or the connection came up)."""
        return self._last_received

    def start(self) -> None:
        """Start dialling (again, after `stop_retrying`); `wait_up` tells when the connection is there."""
        self._set(stopping=False)
        self._closed.clear()
        self.tls_error = None
        if self._tls_setup is not None:
            self._tls_setup(self._client)
        self._client.connect()

    def wait_up(self, timeout: float) -> bool:
        """Whether the connection is up within the timeout; False at once if it is being closed."""
        with self._changed:
            self._changed.wait_for(lambda: self._is_up or self._stopping, timeout)
            return self._is_up

    def stop_retrying(self) -> None:
        """Dial no more (after a drop, or while still trying to connect); a live connection stays."""
        self._set(stopping=True)
        self._client.stop()
        self.loop.run_in_loop(self._cancel_redial)

    def reset(self) -> None:
        """Drop the live connection (a server that stopped answering); with retry, it is dialled again."""
        conn = self._client.connection
        if conn is not None:
            conn.force_close()

    def close(self) -> None:
        """Stop dialling and drop the connection now; any thread. `wait_closed` tells when it is gone."""
        self._set(stopping=True)
        self.loop.run_in_loop(self._close_in_loop)

    def wait_closed(self, timeout: float) -> bool:
        """After `close`: whether the connection's socket has been given up within the timeout."""
        return self._closed.wait(timeout)

    # -- sending (any thread) ---------------------------------------------

    def request(self, request_type: str, fields: dict[str, Any] | None = None,
                on_result: ResultHook | None = None) -> tuple[int, concurrent.futures.Future]:
        """Send a request; its future completes with the result, or fails with ServerError."""
        request_id, future = self._pending.add(request_type, on_result)
        # Registered before the state is checked: a drop after the check fails it in _on_connection.
        conn = self._client.connection
        if conn is None or not conn.connected:
            self._pending.discard(request_id)
            future.set_exception(NotConnectedError(f"{self.name}: not connected ({request_type})"))
        else:
            conn.send(encode_message({"type": request_type, "id": request_id, **(fields or {})}))
        return request_id, future

    def forget(self, request_id: int) -> None:
        """The caller stopped waiting: drop the request so that its late reply is ignored."""
        self._pending.discard(request_id)

    def send_media(self, header: MediaHeader, payload: bytes) -> None:
        """Header and payload (at most MAX_MEDIA_PAYLOAD bytes) gathered into one write, payload uncopied."""
        conn = self._client.connection
        if conn is None or not conn.connected:
            raise NotConnectedError(f"{self.name}: not connected")
        conn.send_buffers((frame_prefix(FrameKind.MEDIA, MEDIA_HEADER.size + len(payload)) + header.pack(),
                           payload))

    # -- loop thread ------------------------------------------------------

    def _on_connection(self, conn: TcpConnection) -> None:
        if conn.connected:
            self._last_received = time.monotonic()
            self._set(up=True)
            self._call(self.on_up)
            return
        self._set(up=False)
        self._pending.fail_all(lambda kind: NotConnectedError(f"{self.name}: connection lost ({kind})"))
        retrying = not self._stopping and self._next_delay is not None
        if not retrying:
            self._set_closed_after_release()
        self._call(self.on_down)
        if retrying and not self._stopping:  # on_down may have given up (stop_retrying)
            self._schedule_redial()

    def _on_tls_failed(self, error: Exception) -> None:
        self.tls_error = error
        if is_trust_refusal(error):
            log.error("%s: server refused: %s", self.name, error)
            self._set(stopping=True)
            self._client.stop()
            self._cancel_redial()
            self._set_closed_after_release()
            self._call(self.on_refused, error)
        elif self._next_delay is not None and not self._stopping:
            self._schedule_redial()
        else:
            self._set(stopping=True)  # nothing more will come of this dial: wake wait_up
            self._set_closed_after_release()

    def _schedule_redial(self) -> None:
        assert self._next_delay is not None
        self._cancel_redial()
        self._redial_timer = self.loop.run_after(self._next_delay(), self._redial)

    def _redial(self) -> None:
        self._redial_timer = None
        if not self._stopping and self._client.connection is None:
            self._client.connect()

    def _cancel_redial(self) -> None:
        if self._redial_timer is not None:
            self.loop.cancel(self._redial_timer)
            self._redial_timer = None

    def _set(self, *, up: bool | None = None, stopping: bool | None = None) -> None:
        with self._changed:
            if up is not None:
                self._is_up = up
            if stopping is not None:
                self._stopping = stopping
            self._changed.notify_all()

    def _close_in_loop(self) -> None:
        # On the loop thread, so that the connector cannot hand over a new connection meanwhile.
        self._cancel_redial()
        self._client.stop()
        conn = self._client.connection
        if conn is None:
            self._set_closed_after_release()
        else:
            conn.force_close()

    def _set_closed_after_release(self) -> None:
        # TcpClient queues the socket's release right after our callback returns (and the
        # connector's stop is queued too): hop twice through the queue to land after them.
        self.loop.queue_in_loop(lambda: self.loop.queue_in_loop(self._closed.set))

    def _on_frame(self, conn: TcpConnection, body: bytes) -> None:
        self._last_received = time.monotonic()
        try:
            kind, payload = split_frame(body)
            if kind == FrameKind.MEDIA:
                header = parse_media_header(payload)
                self._call(self.on_media, header, payload[MEDIA_HEADER.size:])
            elif kind == FrameKind.CONTROL:
                # Strict as the server is: no NaN, no deep nesting, no lone surrogates reach the callbacks.
                self._on_message(strict_json.loads(payload))
            else:
                # PROTOCOL.md: an unknown kind closes the connection.
                log.warning("%s: frame of unknown kind %d; closing", self.name, kind)
                conn.force_close()
        except (FrameError, ValueError) as exc:
            log.warning("%s: dropping a malformed frame from the server: %s", self.name, exc)

    def _on_message(self, message: Any) -> None:
        if not isinstance(message, dict):
            log.warning("%s: control message that is not an object: %.200r", self.name, message)
        elif message.get("type") == "reply" and "id" in message:
            if not _is_request_id(message["id"]):
                # Not an id we ever sent (a list, a string): matching it would raise on this thread.
                log.warning("%s: reply with a malformed id: %.200r", self.name, message)
            elif not self._pending.resolve(message):
                # A reply nobody waits for: the caller timed out, or the server could not read our id.
                log.info("%s: unmatched reply %.200r", self.name, message)
        else:
            self._call(self.on_push, message)

    def _call(self, callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            # A bug in a user's callback must not take the network thread down with it.
            log.exception("%s: callback %r failed", self.name, callback)


def is_trust_refusal(error: Exception) -> bool:
    """A certificate no CA vouches for, or a key other than the pinned one: dialling again cannot help."""
    return isinstance(error, (ssl.SSLCertVerificationError, KeyMismatch))


def _is_request_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
