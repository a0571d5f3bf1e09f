"""The reactor's Connector, waiting between failed attempts as the client's reconnect policy says."""

from __future__ import annotations

from collections.abc import Callable

from reactor.connector import Connector
from reactor.event_loop import EventLoop


class PolicyConnector(Connector):
    """A Connector whose wait after each failed attempt is `next_delay()`.

    The reactor's own doubling from 0.5 s to 30 s, without jitter, kept people
    out of a meeting for up to half a minute after the server was back.
    """

    def __init__(self, loop: EventLoop, address: tuple[str, int], next_delay: Callable[[], float]) -> None:
        super().__init__(loop, address)
        self._next_delay = next_delay

    def _retry(self, reason: str) -> None:
        # Connector._retry waits `retry_delay`: set it to the policy's figure just before.
        self.retry_delay = self._next_delay()
        super()._retry(reason)
