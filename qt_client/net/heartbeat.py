"""The periodic beat that keeps an idle session alive on the server, and tells when the server went quiet."""

from __future__ import annotations

import time
from collections.abc import Callable

from reactor.event_loop import EventLoop
from reactor.timer import Timer

# Nothing from the server for this many intervals (each beat asks for a reply): it is gone.
SILENT_INTERVALS = 2
# How often per interval the silence is measured: noticed at most a quarter interval late.
CHECKS_PER_INTERVAL = 4


def _never_silent(_silent_for: float) -> None:
    pass


class Heartbeat:
    """Calls `beat` every interval on the loop's thread until stopped; start and stop from any thread.

    The server drops a client it has not heard from for its timeout, and a
    participant who only listens sends nothing else. The other way round, a
    server that stopped answering without closing (a half-open connection)
    would go unnoticed: when `last_heard()` (time.monotonic() of the last
    frame from the server) is SILENT_INTERVALS intervals old, `on_silence`
    is called once with the silent seconds, and the heartbeat stops.
    """

    def __init__(self, loop: EventLoop, beat: Callable[[], None], *,
                 last_heard: Callable[[], float] | None = None,
                 on_silence: Callable[[float], None] = _never_silent) -> None:
        self.loop = loop
        self._beat = beat
        self._last_heard = last_heard
        self._on_silence = on_silence
        self._timers: list[Timer] = []  # loop thread only
        self._started = 0.0
        self._interval = 0.0

    def start(self, interval: float) -> None:
        """(Re)start at this interval (the login reply's `heartbeat_interval`)."""
        if interval <= 0:
            raise ValueError(f"heartbeat interval must be positive, not {interval}")
        self.loop.run_in_loop(lambda: self._start_in_loop(interval))

    def stop(self) -> None:
        self.loop.run_in_loop(self._stop_in_loop)

    def _start_in_loop(self, interval: float) -> None:
        self._stop_in_loop()
        self._started, self._interval = time.monotonic(), interval
        self._timers.append(self.loop.run_every(interval, self._beat))
        if self._last_heard is not None:
            self._timers.append(self.loop.run_every(interval / CHECKS_PER_INTERVAL, self._check_silence))

    def _stop_in_loop(self) -> None:
        for timer in self._timers:
            self.loop.cancel(timer)
        self._timers = []

    def _check_silence(self) -> None:
        assert self._last_heard is not None
        silent_for = time.monotonic() - max(self._started, self._last_heard())
        if silent_for >= SILENT_INTERVALS * self._interval:
            self._stop_in_loop()
            self._on_silence(silent_for)
