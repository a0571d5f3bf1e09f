"""One participant's audio or video connection, as sender and as receiver."""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from protocol.framing import LENGTH
from protocol.media import FLAG_SCREEN, MEDIA_HEADER, StreamKind
from reactor.tcp_connection import TcpConnection
from server.loop_stats import LoopStats

if TYPE_CHECKING:
    from server.relay_route import RelayRoute

# Where the media header starts in a relayed frame: after the length prefix and the kind byte.
_HEADER_AT = LENGTH.size + 1
# Sender id and flags of a media header, skipping the rest: all a waiting frame is keyed by.
_SENDER_AND_FLAGS = struct.Struct("!xI13xB")
assert _SENDER_AND_FLAGS.size == MEDIA_HEADER.size
_VIDEO = StreamKind.VIDEO
# At most this many frames in one gathered write (the kernel refuses more than IOV_MAX, 1024).
_FLUSH_BATCH = 512


class MediaPeer:
    """Per-receiver delivery rules, run on the connection's own loop.

    Video is latest-wins per (sender, source): while the connection still has
    output queued, a new frame waits in `pending`, replacing (and counting as
    dropped) only a waiting frame of the same sender and source; what waits
    is flushed, in arrival order, when output drains. So a slow receiver skips
    stale frames of each person, never a whole person or one of their two
    streams, and its memory stays at about one frame per stream it receives.
    Audio goes out unless more than AUDIO_QUEUE_LIMIT bytes are queued.
    """

    __slots__ = ("conn", "drops", "frames_out", "on_stalled", "pending", "route", "stall_limit", "stats",
                 "stream", "user_id")

    AUDIO_QUEUE_LIMIT = 16 * 1024

    def __init__(self, conn: TcpConnection, user_id: int, stream: StreamKind, stats: LoopStats) -> None:
        self.conn = conn
        self.user_id = user_id
        self.stream = stream
        self.stats = stats
        # Published by the control loop when the participant joins or leaves.
        self.route: RelayRoute | None = None
        # (sender id, screen flag) -> the newest frame of that stream waiting for this receiver.
        self.pending: dict[tuple[int, int], bytes] = {}
        self.frames_out = 0
        self.drops = 0
        # A receiver whose queued output has not moved for stall_limit seconds is given up on:
        # on_stalled(peer) is called once, on this loop (the server ends that session).
        self.stall_limit = 10.0
        self.on_stalled: Callable[[MediaPeer], None] | None = None

    def deliver(self, frame: bytes) -> None:
        """Send one whole frame (length prefix included) to this receiver, by its rules."""
        conn = self.conn
        if not conn.connected:
            return
        # Frames still waiting go first, so that one sender's frames never overtake each other.
        # backlog_bytes, not output_bytes: frames handed over this same round (and not yet written,
        # under TLS) are no sign of a slow receiver; yet audio's bound counts them.
        if conn.backlog_bytes == 0 and not self.pending and (
                self.stream is _VIDEO or conn.output_bytes <= self.AUDIO_QUEUE_LIMIT):
            conn.send_in_loop(frame)
            self.frames_out += 1
            self.stats.frames_out += 1
        elif self._stalled(conn):
            return
        elif self.stream is StreamKind.VIDEO:
            self._hold(conn, frame)
        elif conn.output_bytes > self.AUDIO_QUEUE_LIMIT:
            self.drops += 1
            self.stats.drops += 1
        else:
            conn.send_in_loop(frame)
            self.frames_out += 1
            self.stats.frames_out += 1

    def _stalled(self, conn: TcpConnection) -> bool:
        """Checked only while output waits: a peer that reads nothing for long is let go, once."""
        if conn.output_stalled_for(time.monotonic()) < self.stall_limit:
            return False
        on_stalled, self.on_stalled = self.on_stalled, None
        self.pending = {}
        if on_stalled is not None:
            on_stalled(self)
        conn.force_close()
        return True

    def _hold(self, conn: TcpConnection, frame: bytes) -> None:
        """Keep the frame until output drains, in place of an older one of its stream."""
        sender, flags = _SENDER_AND_FLAGS.unpack_from(frame, _HEADER_AT)
        key = (sender, flags & FLAG_SCREEN)
        pending = self.pending
        if not pending:
            # Output is queued (else the frame would have gone out): its drain calls back.
            conn.write_complete_callback = self._flush
        elif pending.pop(key, None) is not None:
            self.drops += 1
            self.stats.drops += 1
        pending[key] = frame

    def _flush(self, conn: TcpConnection) -> None:
        conn.write_complete_callback = None
        pending = self.pending
        if not pending:
            return
        self.pending = {}
        if not conn.connected:
            return
        frames = tuple(pending.values())
        for start in range(0, len(frames), _FLUSH_BATCH):
            conn.send_buffers(frames[start:start + _FLUSH_BATCH])
        self.frames_out += len(frames)
        self.stats.frames_out += len(frames)
