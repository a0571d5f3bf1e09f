"""How far the server's clock is from ours, so capture times can be compared across machines."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One request/reply exchange: our send time, the server's time, our receive time (seconds)."""

    sent: float
    server: float
    received: float

    @property
    def rtt(self) -> float:
        return self.received - self.sent

    @property
    def offset(self) -> float:
        # NTP's assumption: the server read its clock half-way through the round trip.
        return self.server - (self.sent + self.received) / 2


class ClockOffsetEstimator:
    """NTP-style offset (server minus local) from the fastest of the recent exchanges.

    A sample's error is at most half its round trip (all of the delay on one
    side), so the sample with the smallest round trip is the one to trust; a
    window of recent samples lets the estimate follow a drifting clock.
    Not thread-safe: the owner serialises calls.
    """

    def __init__(self, window: int = 8) -> None:
        if window < 1:
            raise ValueError("the window needs at least one sample")
        self._samples: deque[ClockSample] = deque(maxlen=window)
        self._best: ClockSample | None = None

    def add_sample(self, sent: float, server: float, received: float) -> ClockSample:
        """Record one exchange; a reply received before it was sent means a broken clock source."""
        if received < sent:
            raise ValueError(f"received at {received} before sent at {sent}")
        sample = ClockSample(sent, server, received)
        self._samples.append(sample)
        self._best = min(self._samples, key=lambda s: s.rtt)
        return sample

    @property
    def has_samples(self) -> bool:
        return self._best is not None

    @property
    def offset(self) -> float:
        """Seconds to add to a local time to get server time; 0 until the first sample."""
        return self._best.offset if self._best is not None else 0.0

    @property
    def rtt(self) -> float | None:
        """Round trip of the sample the offset comes from; None until the first sample."""
        return self._best.rtt if self._best is not None else None

    @property
    def error_bound(self) -> float | None:
        """The offset is within this many seconds of the truth, whatever the path's asymmetry."""
        return self._best.rtt / 2 if self._best is not None else None

    def local_to_server(self, local_time: float) -> float:
        return local_time + self.offset

    def server_time_to_local(self, server_time: float) -> float:
        return server_time - self.offset
