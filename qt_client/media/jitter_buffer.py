"""Per sender and stream: put frames back in order and drop those too late to show."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from protocol.media import MediaHeader

MAX_LATENESS_US = 200_000


@dataclass
class JitterStats:
    received: int = 0
    released: int = 0
    dropped_late: int = 0
    dropped_duplicate: int = 0
    dropped_overflow: int = 0
    reordered: int = 0


@dataclass(order=True)
class _Entry:
    sequence: int
    header: MediaHeader = field(compare=False)
    payload: Any = field(compare=False)


class JitterBuffer:
    """Holds each frame until `playout_delay_us` after its capture, then releases
    frames in sequence order.

    Times are on the server's clock (capture times are stamped on it by the
    sender; `now_us` is the receiver's estimate of it), so the age of a frame
    never depends on two machines' clocks agreeing. A frame more than
    `max_lateness_us` behind its capture time when it arrives, or when its
    turn comes, is dropped and counted. Audio and video of one sender given
    the same playout delay play out in sync.
    """

    def __init__(self, playout_delay_us: int = 40_000, max_lateness_us: int = MAX_LATENESS_US,
                 capacity: int = 64) -> None:
        if playout_delay_us > max_lateness_us:
            raise ValueError("a playout delay past the lateness limit would drop every frame")
        self.playout_delay_us = playout_delay_us
        self.max_lateness_us = max_lateness_us
        self.capacity = capacity
        self.stats = JitterStats()
        self._heap: list[_Entry] = []
        self._queued: set[int] = set()
        self._next_sequence: int | None = None  # the lowest sequence still worth releasing

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, header: MediaHeader, payload: Any, now_us: int) -> bool:
        """Take a frame as it arrives; False if it was dropped at once."""
        self.stats.received += 1
        sequence = header.sequence
        if now_us - header.capture_us > self.max_lateness_us:
            self.stats.dropped_late += 1
            return False
        if sequence in self._queued or (self._next_sequence is not None and sequence < self._next_sequence):
            self.stats.dropped_duplicate += 1
            return False
        if self._heap and sequence < max(self._queued):
            self.stats.reordered += 1
        if len(self._heap) >= self.capacity:
            # Full: the oldest frame is the one least worth keeping.
            oldest = heapq.heappop(self._heap)
            self._queued.discard(oldest.sequence)
            self._next_sequence = oldest.sequence + 1
            self.stats.dropped_overflow += 1
        heapq.heappush(self._heap, _Entry(sequence, header, payload))
        self._queued.add(sequence)
        return True

    def pop_ready(self, now_us: int) -> list[tuple[MediaHeader, Any]]:
        """Frames whose playout time has come, in sequence order; late ones are dropped."""
        ready = []
        heap = self._heap
        while heap and heap[0].header.capture_us + self.playout_delay_us <= now_us:
            entry = heapq.heappop(heap)
            self._queued.discard(entry.sequence)
            self._next_sequence = entry.sequence + 1
            if now_us - entry.header.capture_us > self.max_lateness_us:
                self.stats.dropped_late += 1
                continue
            self.stats.released += 1
            ready.append((entry.header, entry.payload))
        return ready

    def next_due_us(self) -> int | None:
        """When the earliest held frame is due (server clock), for the caller's sleep."""
        return self._heap[0].header.capture_us + self.playout_delay_us if self._heap else None
