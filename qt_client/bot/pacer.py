"""Keeps a sending loop on its frame rate without drifting."""

from __future__ import annotations

import threading
import time


class Pacer:
    """Sleeps until the next tick; a loop that fell behind skips ahead
    instead of bursting to catch up (a real camera would have dropped those frames)."""

    def __init__(self, rate: float, stop: threading.Event) -> None:
        self.interval = 1.0 / rate
        self._stop = stop
        self._next = time.monotonic()

    def wait(self) -> bool:
        """Sleep until the next tick; False once the stop event is set."""
        self._next += self.interval
        now = time.monotonic()
        if self._next < now - self.interval:
            self._next = now
        return not self._stop.wait(max(0.0, self._next - now))
