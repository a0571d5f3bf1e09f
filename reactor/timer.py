"""A timer: a callback due at a monotonic time, optionally repeating."""

from __future__ import annotations

import itertools
from collections.abc import Callable

_sequence = itertools.count()


class Timer:
    """One scheduled callback; the handle that `EventLoop.cancel` takes."""

    __slots__ = ("callback", "cancelled", "interval", "queued", "sequence", "when")

    def __init__(self, callback: Callable[[], None], when: float, interval: float = 0.0) -> None:
        self.callback = callback
        self.when = when
        self.interval = interval
        # The sequence breaks ties so that timers due at the same instant fire
        # in the order they were added, and heapq never compares callbacks.
        self.sequence = next(_sequence)
        self.cancelled = False
        # True while the timer sits in a TimerQueue heap.
        self.queued = False

    @property
    def repeats(self) -> bool:
        return self.interval > 0.0

    def restart(self, now: float) -> None:
        """Move a repeating timer to its next due time (never into the past)."""
        self.when = max(self.when + self.interval, now)
        self.sequence = next(_sequence)

    def __lt__(self, other: Timer) -> bool:
        return (self.when, self.sequence) < (other.when, other.sequence)

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled else f"due {self.when:.3f}"
        return f"<Timer {self.callback!r} {state}>"
