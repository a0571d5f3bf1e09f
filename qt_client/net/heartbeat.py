"""The periodic beat that keeps an idle session alive on the server."""

from __future__ import annotations

from collections.abc import Callable

from reactor.event_loop import EventLoop
from reactor.timer import Timer


class Heartbeat:
    """Calls `beat` every interval on the loop's thread until stopped; start and stop from any thread.

    The server drops a client it has not heard from for its timeout, and a
    participant who only listens sends nothing else.
    """

    def __init__(self, loop: EventLoop, beat: Callable[[], None]) -> None:
        self.loop = loop
        self._beat = beat
        self._timer: Timer | None = None  # loop thread only

    def start(self, interval: float) -> None:
        """(Re)start at this interval (the login reply's `heartbeat_interval`)."""
        if interval <= 0:
            raise ValueError(f"heartbeat interval must be positive, not {interval}")
        self.loop.run_in_loop(lambda: self._start_in_loop(interval))

    def stop(self) -> None:
        self.loop.run_in_loop(self._stop_in_loop)

    def _start_in_loop(self, interval: float) -> None:
        self._stop_in_loop()
        self._timer = self.loop.run_every(interval, self._beat)

    def _stop_in_loop(self) -> None:
        if self._timer is not None:
            self.loop.cancel(self._timer)
            self._timer = None
