"""Counts guesses (passwords, room ids) so that each key gets only so many in a moving window.

An attempt is reserved when it arrives, before the costly or revealing check runs, so that
pipelined and parallel guesses are limited as surely as sequential ones. When the check fails the
reservation becomes a hit in the window; when it succeeds it is given back, so that the people who
know their password do not use up an address's allowance (a school behind one NAT). The windows
live in a `limits` storage: in memory on one node (server.window_storage); a "redis://" URI
shares them between nodes (the reservations of checks still running stay per process: they last
as long as one check).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from server.window_storage import WindowStorage

# A refusal caused only by checks still running says to come back this soon.
IN_FLIGHT_RETRY = 1.0


@dataclass(frozen=True)
class LimitRule:
    """One named allowance, e.g. "5/minute;20/hour" of wrong passwords per (name, address)."""

    name: str
    items: tuple[RateLimitItem, ...]

    @classmethod
    def parse(cls, name: str, spec: str) -> LimitRule:
        """`spec` in the limits notation ("5/minute;20/hour"); "none" turns the rule off."""
        items = () if spec.strip().lower() == "none" else tuple(parse_many(spec))
        return cls(name, items)


class Limited(Exception):
    """The attempt is refused without being checked: try again after `retry_after` seconds."""

    def __init__(self, rule: str, retry_after: float) -> None:
        super().__init__(f"{rule}: retry after {retry_after:.0f} s")
        self.rule = rule
        self.retry_after = retry_after


def key_of(*parts: str) -> str:
    """A bounded, separator-free key for any strings (names may hold "/" or be huge)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Attempt:
    """A reservation under several (rule, key) limits; settle it exactly once."""

    def __init__(self, limiter: AttemptLimiter, keys: Sequence[tuple[LimitRule, str]]) -> None:
        self._limiter = limiter
        self._keys = keys
        self._settled = False

    def failed(self) -> None:
        """The guess was wrong (or, for rules that count every use, it was made): it counts."""
        if self._settle():
            self._limiter._hit(self._keys)

    def succeeded(self) -> None:
        """The guess was right: the reservation is given back, nothing counts."""
        self._settle()

    abandoned = succeeded  # not checked at all (the database failed): nothing was learnt

    def _settle(self) -> bool:
        if self._settled:
            return False
        self._settled = True
        self._limiter._release(self._keys)
        return True


class AttemptLimiter:
    """Moving-window limits with reservations; used on the control loop only."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        # In memory, our WindowStorage rather than limits' MemoryStorage (see window_storage.py).
        self._storage = WindowStorage() if storage_uri == "memory://" else storage_from_string(storage_uri)
        self._windows = MovingWindowRateLimiter(self._storage)
        # (rule name, key) -> attempts reserved and not yet settled.
        self._in_flight: Counter[tuple[str, str]] = Counter()

    def begin(self, keys: Sequence[tuple[LimitRule, str]]) -> Attempt:
        """Reserve one attempt under every (rule, key), or raise Limited (reserving nothing)."""
        waits = [self._wait(rule, key) for rule, key in keys]
        refused = [(wait, rule.name) for wait, (rule, _key) in zip(waits, keys, strict=True) if wait > 0]
        if refused:
            wait, rule = max(refused)
            raise Limited(rule, math.ceil(wait))
        for rule, key in keys:
            self._in_flight[(rule.name, key)] += 1
        return Attempt(self, keys)

    def forget(self, rule: LimitRule, key: str) -> None:
        """Clear a key's window: a right password wipes that (name, address)'s earlier mistakes."""
        for item in rule.items:
            self._windows.clear(item, rule.name, key)

    def sweep(self) -> None:
        """Forget windows that have emptied (a shared storage such as Redis expires its own)."""
        if isinstance(self._storage, WindowStorage):
            self._storage.sweep()

    def _wait(self, rule: LimitRule, key: str) -> float:
        """Seconds until one more attempt fits under every window of the rule (0: now)."""
        in_flight = self._in_flight[(rule.name, key)]
        wait = 0.0
        for item in rule.items:
            reset_at, remaining = self._windows.get_window_stats(item, rule.name, key)
            if remaining - in_flight >= 1:
                continue
            if remaining >= 1:
                wait = max(wait, IN_FLIGHT_RETRY)  # only checks still running fill it: a moment
            else:
                # Full of counted failures: the oldest leaves the window at reset_at.
                wait = max(wait, reset_at - time.time(), IN_FLIGHT_RETRY)
        return wait

    def _hit(self, keys: Sequence[tuple[LimitRule, str]]) -> None:
        for rule, key in keys:
            for item in rule.items:
                self._windows.hit(item, rule.name, key)

    def _release(self, keys: Sequence[tuple[LimitRule, str]]) -> None:
        for rule, key in keys:
            slot = (rule.name, key)
            self._in_flight[slot] -= 1
            if self._in_flight[slot] <= 0:
                del self._in_flight[slot]
