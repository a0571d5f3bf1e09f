"""A moving test card for machines without a camera, whose frame number survives lossy codecs.

The bottom band holds the frame number as 32 large black or white cells, framed
by a white cell on the left and a black one on the right, so that a receiver
(the bot, an end-to-end test) can tell which frame it is showing and measure
loss and latency from pixels alone.
"""

from __future__ import annotations

import itertools
import time

import cv2
import numpy as np

from qt_client.media.video_source import VideoSource, now_us

CODE_BITS = 32
_CELLS = CODE_BITS + 2  # start marker (white), the bits (most significant first), end marker (black)
# A cell reads as a bit only when clearly dark or clearly light; anything between
# means the band is not ours (a camera frame) or is too damaged to trust.
_DARK, _LIGHT = 64, 192
# 75% colour bars, BGR: white, yellow, cyan, green, magenta, red, blue.
_BARS = ((191, 191, 191), (0, 191, 191), (191, 191, 0), (0, 191, 0), (191, 0, 191), (0, 0, 191), (191, 0, 0))
_BALL_COLOUR = (0, 140, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _band_height(height: int) -> int:
    return max(4, height // 12)


def _cell_edges(width: int) -> np.ndarray:
    return np.linspace(0, width, _CELLS + 1).round().astype(np.intp)


class TestPatternSource(VideoSource):
    """Colour bars, a grey ramp, a bouncing ball, the frame number and capture time, and the code band.

    Everything static is drawn once; a frame costs one copy plus a ball, two
    lines of text and the band.
    """

    __test__ = False  # its name starts with "Test"; keep pytest from collecting it

    def __init__(self, width: int = 640, height: int = 480, fps: float = 15) -> None:
        if width < 2 * _CELLS or height < 48:
            raise ValueError(f"test pattern needs at least {2 * _CELLS}x48 pixels, not {width}x{height}")
        self.width, self.height, self.fps = width, height, fps
        self.frame_number = 0
        self._band_top = height - _band_height(height)
        # Column -> cell index, so a frame's band is one fancy-index of 34 levels.
        self._column_cell = np.searchsorted(_cell_edges(width), np.arange(width), side="right") - 1
        self._radius = max(4, height // 10)
        self._text_scale = height / 480
        self._text_thickness = max(1, round(2 * self._text_scale))
        self._line_height = round(34 * self._text_scale)
        self._background = self._draw_background()

    def read(self) -> tuple[np.ndarray, int]:
        capture_us = now_us()
        number = self.frame_number
        self.frame_number = (number + 1) & 0xFFFFFFFF
        frame = self._background.copy()
        cv2.circle(frame, self._ball_centre(number), self._radius, _BALL_COLOUR, -1, cv2.LINE_AA)
        self._draw_text(frame, number, capture_us)
        levels = np.zeros(_CELLS, np.uint8)
        levels[0] = 255
        levels[1:-1] = ((number >> np.arange(CODE_BITS - 1, -1, -1)) & 1) * 255
        frame[self._band_top:] = levels[self._column_cell][None, :, None]
        return frame, capture_us

    def close(self) -> None:
        """Nothing to release."""

    def _draw_background(self) -> np.ndarray:
        w, h = self.width, self.height
        frame = np.zeros((h, w, 3), np.uint8)
        bars_bottom = self._band_top * 2 // 3
        edges = np.linspace(0, w, len(_BARS) + 1).round().astype(int)
        for colour, left, right in zip(_BARS, edges[:-1], edges[1:], strict=True):
            frame[:bars_bottom, left:right] = colour
        frame[bars_bottom:self._band_top] = np.linspace(0, 255, w).astype(np.uint8)[None, :, None]
        # A dark plate keeps the changing text readable over the bars.
        cv2.rectangle(frame, (0, 0), (round(300 * self._text_scale), 2 * self._line_height + 8),
                      (32, 32, 32), -1)
        return frame

    def _ball_centre(self, number: int) -> tuple[int, int]:
        # Triangle waves with different periods, so the ball covers the picture and moves every frame.
        span_x = self.width - 2 * self._radius
        span_y = self._band_top - 2 * self._radius
        x = abs((number * 7) % (2 * span_x) - span_x)
        y = abs((number * 5) % (2 * span_y) - span_y)
        return self._radius + x, self._radius + y

    def _draw_text(self, frame: np.ndarray, number: int, capture_us: int) -> None:
        seconds, micros = divmod(capture_us, 1_000_000)
        clock = time.strftime("%H:%M:%S", time.localtime(seconds)) + f".{micros // 1000:03d}"
        for row, text in enumerate((f"frame {number}", clock), start=1):
            cv2.putText(frame, text, (6, row * self._line_height), _FONT, self._text_scale, (255, 255, 255),
                        self._text_thickness, cv2.LINE_AA)


def read_frame_number(frame: np.ndarray) -> int | None:
    """The number a TestPatternSource drew into this frame (at any scale), or None if it carries none."""
    height, width = frame.shape[:2]
    band_height = _band_height(height)
    if width < _CELLS or band_height < 4:
        return None
    # The middle half of the band and of each cell: edges are where codecs smear.
    rows = frame[height - band_height + band_height // 4:height - band_height // 4]
    columns = rows.mean(axis=(0, 2) if rows.ndim == 3 else 0)
    edges = _cell_edges(width)
    levels = np.empty(_CELLS)
    for cell, (left, right) in enumerate(itertools.pairwise(edges)):
        quarter = (right - left) // 4
        levels[cell] = columns[left + quarter:right - quarter].mean()
    if np.any((levels > _DARK) & (levels < _LIGHT)) or levels[0] < _LIGHT or levels[-1] > _DARK:
        return None
    number = 0
    for level in levels[1:-1]:
        number = (number << 1) | int(level >= _LIGHT)
    return number
