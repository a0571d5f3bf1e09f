"""A video file played as if it were a camera, for demos, the bot and repeatable tests."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from qt_client.media.video_source import VideoSource, now_us

_DEFAULT_FPS = 15.0  # for containers that do not say


class VideoFileSource(VideoSource):
    """Frames of the file in order, resized when asked, starting over at the end when `loop` is set.

    `fps` defaults to the file's own rate; the caller paces reads at it, so a
    different value plays the file faster or slower.
    """

    def __init__(self, path: str | Path, width: int | None = None, height: int | None = None,
                 fps: float | None = None, loop: bool = True) -> None:
        if (width is None) != (height is None):
            raise ValueError("give both width and height to resize, or neither")
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"no video file at {self.path}")
        self.loop = loop
        self._capture = self._open()
        file_width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        file_height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.width, self.height = (width, height) if width and height else (file_width, file_height)
        self._resize = (self.width, self.height) != (file_width, file_height)
        self.fps = fps or self._capture.get(cv2.CAP_PROP_FPS) or _DEFAULT_FPS

    def read(self) -> tuple[np.ndarray, int]:
        ok, frame = self._capture.read()
        if not ok and self.loop:
            # Reopening rewinds every container; seeking to frame 0 is unreliable in some.
            self._capture.release()
            self._capture = self._open()
            ok, frame = self._capture.read()
        if not ok:
            raise EOFError(f"no more frames in {self.path}")
        capture_us = now_us()
        if self._resize:
            shrinking = self.width * self.height < frame.shape[0] * frame.shape[1]
            frame = cv2.resize(frame, (self.width, self.height),
                               interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        return frame, capture_us

    def close(self) -> None:
        self._capture.release()

    def _open(self) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(self.path))
        if not capture.isOpened():
            raise ValueError(f"OpenCV cannot open {self.path} as a video")
        return capture
