"""Moving-window counts in memory for `limits`, without its MemoryStorage's expiry thread.

limits' MemoryStorage starts a timer thread 10 ms after every hit that walks every key. Under a
guessing attack spread over many addresses there are tens of thousands of keys, and that walk took
0.8 s per 100,000 keys here: a few attackers at the allowed rate would keep the server's GIL busy.
Here a key is trimmed only when it is used, and sweep(), run now and then by the server's own
timer, forgets the keys whose windows have emptied.
"""

from __future__ import annotations

import time
from collections import deque

from limits.storage import MovingWindowSupport, Storage


class _Window:
    __slots__ = ("expiry", "times")

    def __init__(self, expiry: float) -> None:
        self.expiry = expiry
        self.times: deque[float] = deque()  # oldest first, on the time.time() clock as limits uses

    def trim(self, now: float) -> None:
        while self.times and self.times[0] <= now - self.expiry:
            self.times.popleft()


class WindowStorage(Storage, MovingWindowSupport):
    """A limits storage for moving windows only; one thread (the control loop) only."""

    STORAGE_SCHEME = None  # not registered: "memory://" still names limits' own storage

    def __init__(self) -> None:
        super().__init__()
        self._windows: dict[str, _Window] = {}

    @property
    def base_exceptions(self) -> type[Exception]:
        return ValueError

    def check(self) -> bool:
        return True

    def reset(self) -> int:
        count = len(self._windows)
        self._windows.clear()
        return count

    # Fixed-window counters: never asked for by the moving-window strategy this storage serves.
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("WindowStorage keeps moving windows only")

    def get(self, key: str) -> int:
        raise NotImplementedError("WindowStorage keeps moving windows only")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("WindowStorage keeps moving windows only")

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Add `amount` entries now if the window then holds at most `limit`."""
        now = time.time()
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(expiry)
        window.trim(now)
        if len(window.times) + amount > limit:
            return False
        window.times.extend([now] * amount)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(time of the oldest entry in the window, entries in the window); (now, 0) when empty."""
        now = time.time()
        window = self._windows.get(key)
        if window is None:
            return now, 0
        window.trim(now)
        if not window.times:
            del self._windows[key]
            return now, 0
        return window.times[0], len(window.times)

    def clear(self, key: str) -> None:
        self._windows.pop(key, None)

    def sweep(self) -> int:
        """Forget every key whose window has emptied; returns how many keys are left."""
        now = time.time()
        for key in [key for key, window in self._windows.items()
                    if not window.times or window.times[-1] <= now - window.expiry]:
            del self._windows[key]
        return len(self._windows)

    def __len__(self) -> int:
        return len(self._windows)
