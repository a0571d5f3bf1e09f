"""Numpy frames to QImages that own their pixels, so they can outlive the array and cross threads."""

from __future__ import annotations

import cv2
import numpy as np
from PyQt5.QtGui import QImage


def fit_within(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest size of the same aspect that fits max_width x max_height (never larger than given)."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def bgr_to_qimage(frame: np.ndarray, max_width: int | None = None, max_height: int | None = None) -> QImage:
    """An RGB888 QImage of a BGR frame, shrunk to fit max_width x max_height; its pixels are its own.

    Shrinking here, on the worker's thread, is what keeps painting cheap: the GUI
    then draws a picture of about its displayed size.
    """
    height, width = frame.shape[:2]
    target = fit_within(width, height, max_width or width, max_height or height)
    if target != (width, height):
        width, height = target
        frame = cv2.resize(frame, target, interpolation=cv2.INTER_AREA)
    image = QImage(width, height, QImage.Format_RGB888)
    # Convert straight into the image's own pixels: no intermediate array, no QImage.copy().
    bits = image.bits()
    bits.setsize(image.sizeInBytes())
    rows = np.frombuffer(bits, np.uint8).reshape(height, image.bytesPerLine())
    cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=rows[:, :3 * width].reshape(height, width, 3))
    return image
