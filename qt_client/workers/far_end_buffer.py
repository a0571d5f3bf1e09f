"""The audio the speaker played, kept for the echo canceller as its reference ("far end")."""

from __future__ import annotations

import threading

import numpy as np


class FarEndBuffer:
    """A bounded ring of int16 samples: the playback worker writes, the capture worker reads.

    Playback and capture run on two clocks that drift apart; when the reader falls
    behind, the oldest samples are dropped, so the echo delay stays bounded.
    """

    def __init__(self, capacity_samples: int) -> None:
        if capacity_samples <= 0:
            raise ValueError("capacity_samples must be positive")
        self.capacity = capacity_samples
        self._ring = np.zeros(capacity_samples, dtype=np.int16)
        self._start = 0  # index of the oldest sample
        self._size = 0
        self._lock = threading.Lock()
        self.dropped_samples = 0  # written but overwritten before anyone read them

    def __len__(self) -> int:
        with self._lock:
            return self._size

    def write(self, samples: np.ndarray) -> None:
        """Append what was just played; the oldest samples make room when full."""
        samples = np.asarray(samples, dtype=np.int16)[-self.capacity:]
        n = len(samples)
        with self._lock:
            overflow = max(0, self._size + n - self.capacity)
            if overflow:
                self._start = (self._start + overflow) % self.capacity
                self._size -= overflow
                self.dropped_samples += overflow
            end = (self._start + self._size) % self.capacity
            first = min(n, self.capacity - end)
            self._ring[end:end + first] = samples[:first]
            self._ring[:n - first] = samples[first:]
            self._size += n

    def read(self, n: int) -> np.ndarray:
        """The oldest n samples, padded with silence when less was played: nothing played, no echo."""
        out = np.zeros(n, dtype=np.int16)
        with self._lock:
            take = min(n, self._size)
            first = min(take, self.capacity - self._start)
            out[:first] = self._ring[self._start:self._start + first]
            out[first:take] = self._ring[:take - first]
            self._start = (self._start + take) % self.capacity
            self._size -= take
        return out
