"""One participant's audio or video connection, as sender and as receiver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocol.media import StreamKind
from reactor.tcp_connection import TcpConnection
from server.loop_stats import LoopStats

if TYPE_CHECKING:
    from server.relay_route import RelayRoute


class MediaPeer:
    """Per-receiver delivery rules, run on the connection's own loop.

    Video is latest-wins: while the connection still has output queued, a
    new frame waits in a one-frame slot, replacing (and counting as dropped)
    any frame already waiting; the slot is flushed when output drains. So a
    slow receiver skips frames and its memory stays at about two frames.
    Audio goes out unless more than AUDIO_QUEUE_LIMIT bytes are queued.
    """

    __slots__ = ("conn", "drops", "frames_out", "pending", "route", "stats", "stream", "user_id")

    AUDIO_QUEUE_LIMIT = 16 * 1024

    def __init__(self, conn: TcpConnection, user_id: int, stream: StreamKind, stats: LoopStats) -> None:
        self.conn = conn
        self.user_id = user_id
        self.stream = stream
        self.stats = stats
        # Published by the control loop when the participant joins or leaves.
        self.route: RelayRoute | None = None
        self.pending: bytes | None = None
        self.frames_out = 0
        self.drops = 0

    def deliver(self, frame: bytes) -> None:
        """Send one whole frame (length prefix included) to this receiver, by its rules."""
        conn = self.conn
        if not conn.connected:
            return
        if conn.output_bytes == 0:
            conn.send_in_loop(frame)
            self.frames_out += 1
            self.stats.frames_out += 1
        elif self.stream is StreamKind.VIDEO:
            if self.pending is None:
                conn.write_complete_callback = self._flush
            else:
                self.drops += 1
                self.stats.drops += 1
            self.pending = frame
        elif conn.output_bytes > self.AUDIO_QUEUE_LIMIT:
            self.drops += 1
            self.stats.drops += 1
        else:
            conn.send_in_loop(frame)
            self.frames_out += 1
            self.stats.frames_out += 1

    def _flush(self, conn: TcpConnection) -> None:
        conn.write_complete_callback = None
        pending, self.pending = self.pending, None
        if pending is not None and conn.connected:
            conn.send_in_loop(pending)
            self.frames_out += 1
            self.stats.frames_out += 1
