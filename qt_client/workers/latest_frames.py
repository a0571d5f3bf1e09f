"""The newest picture of each stream, handed from the receive worker to the GUI without a queue."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from PyQt5.QtGui import QImage


class LatestFrames:
    """A thread-safe mailbox of one slot per stream: a new picture replaces one the GUI has not taken.

    `offer` (receive thread) returns True only when the GUI has taken the last
    batch, so one wake-up signal is pending at a time and a GUI that cannot keep
    up skips pictures instead of falling behind.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frames: dict[Hashable, QImage] = {}
        self._wake_pending = False

    def offer(self, key: Hashable, image: QImage) -> bool:
        """Put the picture in its slot; True when the GUI must be woken for it."""
        with self._lock:
            self._frames[key] = image
            wake, self._wake_pending = not self._wake_pending, True
        return wake

    def keep_only(self, wanted: Callable[[Hashable], bool]) -> None:
        """Drop the waiting pictures whose stream is no longer wanted (its person left, its tile hid)."""
        with self._lock:
            self._frames = {key: image for key, image in self._frames.items() if wanted(key)}

    def take(self) -> dict[Hashable, QImage]:
        """Everything waiting, emptied; re-arms the wake-up."""
        with self._lock:
            frames, self._frames = self._frames, {}
            self._wake_pending = False
        return frames
