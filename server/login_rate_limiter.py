"""Slows down repeated wrong passwords for one user name."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class LoginRateLimiter:
    """After FREE_FAILURES wrong passwords within WINDOW seconds, each further
    failure blocks the name for a delay that doubles, up to MAX_DELAY."""

    FREE_FAILURES = 5
    WINDOW = 60.0
    BASE_DELAY = 1.0
    MAX_DELAY = 60.0
    # Past this many tracked names, the stale ones are forgotten.
    MAX_TRACKED = 100_000

    def __init__(self) -> None:
        self._by_name: dict[str, _Failures] = {}

    def retry_after(self, name: str, now: float) -> float:
        """Seconds until this name may try again (0 when it may now)."""
        entry = self._by_name.get(name)
        return max(0.0, entry.blocked_until - now) if entry else 0.0

    def record_failure(self, name: str, now: float) -> None:
        entry = self._by_name.get(name)
        if entry is None:
            if len(self._by_name) >= self.MAX_TRACKED:
                self._forget_stale(now)
            entry = self._by_name[name] = _Failures()
        times = entry.times
        times.append(now)
        while times and times[0] < now - self.WINDOW:
            times.popleft()
        excess = len(times) - self.FREE_FAILURES
        if excess > 0:
            entry.blocked_until = now + min(self.MAX_DELAY, self.BASE_DELAY * 2 ** (excess - 1))

    def record_success(self, name: str) -> None:
        self._by_name.pop(name, None)

    def _forget_stale(self, now: float) -> None:
        stale = [name for name, entry in self._by_name.items()
                 if entry.blocked_until <= now and (not entry.times or entry.times[-1] < now - self.WINDOW)]
        for name in stale:
            del self._by_name[name]
