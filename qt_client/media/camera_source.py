"""A local camera through OpenCV, delivering frames of the size the encoder was set up for."""

from __future__ import annotations

import cv2
import numpy as np

from qt_client.media.video_source import VideoSource, now_us


class CameraSource(VideoSource):
    """`read` blocks until the camera has a frame, so the camera paces the capture loop.

    Cameras pick the nearest mode they support; frames are resized to the
    requested size when it differs, since encoders take one fixed size.
    """

    def __init__(self, index: int = 0, width: int = 640, height: int = 480, fps: float = 15) -> None:
        self.index, self.width, self.height, self.fps = index, width, height, fps
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise RuntimeError(f"no camera at index {index}")
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._capture.set(cv2.CAP_PROP_FPS, fps)

    def read(self) -> tuple[np.ndarray, int]:
        ok, frame = self._capture.read()
        capture_us = now_us()
        if not ok:
            raise RuntimeError(f"camera {self.index} stopped delivering frames")
        if frame.shape[:2] != (self.height, self.width):
            frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return frame, capture_us

    def close(self) -> None:
        self._capture.release()
