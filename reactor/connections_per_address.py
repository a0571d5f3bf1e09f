"""A cap on live connections per source address, shared by the servers of one process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class ConnectionsPerAddress:
    """Counts live connections per peer host; refuses one more past `limit`.

    Used on one loop only (the base loop, where every TcpServer accepts and
    forgets its connections), so it needs no lock. A refusal is logged once
    per address per `log_interval` seconds, with the number refused since:
    an attacker opening thousands of connections must not fill the log.
    """

    def __init__(self, limit: int, log_interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"the per-address limit must be at least 1, not {limit}")
        self.limit = limit
        self.log_interval = log_interval
        self._clock = clock
        self._live: dict[str, int] = {}
        # host -> (when its refusals were last logged, refusals since then)
        self._refused: dict[str, tuple[float, int]] = {}
        self.refused_total = 0

    def live(self, host: str) -> int:
        return self._live.get(host, 0)

    def admit(self, host: str) -> bool:
        """Count a new connection from host, or refuse it (False) when host is at the limit."""
        count = self._live.get(host, 0)
        if count < self.limit:
            self._live[host] = count + 1
            return True
        self.refused_total += 1
        self._note_refusal(host)
        return False

    def release(self, host: str) -> None:
        """A connection admitted from host has closed."""
        count = self._live.get(host, 0) - 1
        if count > 0:
            self._live[host] = count
        else:
            self._live.pop(host, None)

    def _note_refusal(self, host: str) -> None:
        now = self._clock()
        logged_at, since = self._refused.get(host, (None, 0))
        if logged_at is not None and now - logged_at < self.log_interval:
            self._refused[host] = (logged_at, since + 1)
            return
        log.warning("%s has %d connections open, the most one address may have: refusing more "
                    "(%d refused since the last report)", host, self.limit, since + 1)
        self._refused[host] = (now, 0)
        if len(self._refused) > 10_000:  # forget the oldest reports rather than grow for ever
            for stale in [h for h, (at, _n) in self._refused.items() if now - at >= self.log_interval]:
                del self._refused[stale]
