"""A circuit breaker: after a few failures in a row, stop calling a dead dependency for a while."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

DEFAULT_FAILURES = 3
DEFAULT_COOLDOWN = 2.0


class CircuitBreaker:
    """Closed: every call goes through. After `failures` failures in a row it opens: calls fail at
    once for `cooldown` seconds; then one call (the probe) goes through, and its outcome closes the
    breaker again or opens it for another cooldown. Safe to use from any thread.

    Logs one line when it opens and one when it closes again, however many calls fail meanwhile.
    """

    def __init__(self, what: str, failures: int = DEFAULT_FAILURES, cooldown: float = DEFAULT_COOLDOWN,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1 or cooldown <= 0:
            raise ValueError(f"a circuit breaker needs failures >= 1 and cooldown > 0, "
                             f"not {failures} and {cooldown}")
        self.what = what
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._opened_at: float | None = None  # when the current outage began; None while closed
        self._retry_at = 0.0
        self._probing = False

    @property
    def is_open(self) -> bool:
        """True while calls are refused: cooling down, or a probe is out (asking claims nothing)."""
        with self._lock:
            return self._opened_at is not None and (self._probing or self._clock() < self._retry_at)

    def allow(self) -> bool:
        """May a call go through now? While open, True once per cooldown: the caller is the probe
        and must report its outcome with succeeded() or failed()."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._probing or self._clock() < self._retry_at:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._in_a_row = 0
            self._probing = False
            opened_at, self._opened_at = self._opened_at, None
        if opened_at is not None:
            log.warning("%s is available again (after %.1f s)", self.what, self._clock() - opened_at)

    def failed(self, reason: object) -> None:
        with self._lock:
            self._in_a_row += 1
            was_open = self._opened_at is not None
            self._probing = False
            if not was_open and self._in_a_row < self.failures:
                return
            now = self._clock()
            self._retry_at = now + self.cooldown
            if was_open:
                return  # a failed probe: still down, already said so
            self._opened_at = now
        log.warning("%s is unavailable (%s); until it answers again, requests that need it fail at once, "
                    "and one is let through every %.0f s to try it", self.what, reason, self.cooldown)
