"""What every video source gives the capture worker: BGR frames of a fixed size, stamped at capture."""

from __future__ import annotations

import abc
import re
import time
from types import TracebackType
from typing import Self

import numpy as np

_SIZE = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")


def now_us() -> int:
    """Capture time in integer microseconds on `time.time()`'s clock, as media headers carry it."""
    return time.time_ns() // 1000


def parse_size(text: str) -> tuple[int, int]:
    """Sizes come as text ("640x480") from settings files and command lines."""
    match = _SIZE.fullmatch(text)
    width, height = (int(match[1]), int(match[2])) if match else (0, 0)
    if width <= 0 or height <= 0:
        raise ValueError(f"video size must be positive WIDTHxHEIGHT like 640x480, not {text!r}")
    return width, height


class VideoSource(abc.ABC):
    """A camera, a file or a synthetic pattern; the caller paces `read` at `fps`.

    Every frame is a new uint8 array of shape (height, width, 3) in BGR order,
    so a consumer may keep it while the next one is read.
    """

    width: int
    height: int
    fps: float

    @abc.abstractmethod
    def read(self) -> tuple[np.ndarray, int]:
        """The next frame and its capture time in microseconds (see `now_us`)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the camera or file the source holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
