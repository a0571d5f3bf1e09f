"""Who receives a room's audio or video, split by the loop owning each receiver."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from reactor.event_loop import EventLoop
from server.media_peer import MediaPeer


class RelayRoute:
    """The per-loop tables of one room and stream, as muduo's chat server keeps them.

    The control loop replaces `by_loop` wholesale whenever membership changes
    (copy-on-write), so a sender's loop reads one consistent snapshot without
    a lock. A frame is handed once to each loop that has receivers, and that
    loop fans it out to the connections it owns.
    """

    __slots__ = ("by_loop",)

    def __init__(self) -> None:
        self.by_loop: tuple[tuple[EventLoop, tuple[MediaPeer, ...]], ...] = ()

    def publish(self, peers: Iterable[MediaPeer]) -> None:
        grouped: dict[EventLoop, list[MediaPeer]] = {}
        for peer in peers:
            grouped.setdefault(peer.conn.loop, []).append(peer)
        self.by_loop = tuple((loop, tuple(group)) for loop, group in grouped.items())

    def relay(self, sender: MediaPeer, frame: bytes) -> None:
        """Called on the sender's loop with one whole frame, length prefix included."""
        here = sender.conn.loop
        for loop, peers in self.by_loop:
            if loop is here:
                fan_out(peers, sender, frame)
            else:
                loop.queue_in_loop(partial(fan_out, peers, sender, frame))


def fan_out(peers: tuple[MediaPeer, ...], sender: MediaPeer, frame: bytes) -> None:
    """Runs on the loop that owns every peer in `peers`; the frame is shared, not copied."""
    for peer in peers:
        if peer is not sender:
            peer.deliver(frame)
