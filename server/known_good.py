"""Who logged in from where lately: such a (name, address) pair is spared the per-name limit."""

from __future__ import annotations

import time
from collections import OrderedDict


class KnownGood:
    """Pairs that proved a password lately, kept for `days`, the most recent `capacity` of them.

    The per-name limit stops a guesser spread over many addresses, and so refuses everyone for
    that name. A person who logged in from this address before is not a guesser there: they keep
    getting in (limited only per name and address, and per address, like everyone else).
    """

    def __init__(self, days: float = 30.0, capacity: int = 100_000) -> None:
        self._lifetime = days * 86400
        self._capacity = capacity
        self._until: OrderedDict[str, float] = OrderedDict()  # key -> monotonic expiry, oldest first

    def add(self, key: str) -> None:
        self._until[key] = time.monotonic() + self._lifetime
        self._until.move_to_end(key)
        while len(self._until) > self._capacity:
            self._until.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        until = self._until.get(key)
        if until is None:
            return False
        if until <= time.monotonic():
            del self._until[key]
            return False
        return True
