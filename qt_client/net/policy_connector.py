"""The reactor's Connector, waiting between failed attempts as the client's reconnect policy says."""

from __future__ import annotations

from collections.abc import Callable

from reactor.connector import Connector
from reactor.event_loop import EventLoop


class PolicyConnector(Connector):
    """A Connector whose wait before each new try is `next_delay()` (a ReconnectPolicy's).

    The reactor's own doubling from 0.5 s to 30 s, without jitter, kept people
    out of a meeting for up to half a minute after the server was back. The
    Connector waits `retry_delay` when it backs off and then sets the next
    one: here, reading it draws a wait from the policy (once per back-off),
    and whatever the Connector sets only marks that wait as used.
    """

    def __init__(self, loop: EventLoop, address: tuple[str, int], next_delay: Callable[[], float]) -> None:
        self._next_delay = next_delay
        self._drawn: float | None = None
        super().__init__(loop, address)

    @property
    def retry_delay(self) -> float:
        if self._drawn is None:
            self._drawn = self._next_delay()
        return self._drawn

    @retry_delay.setter
    def retry_delay(self, _value: float) -> None:
        # After a back-off (the doubled figure), a restart or a connection (the initial one): a new draw next.
        self._drawn = None
