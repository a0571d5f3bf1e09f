"""Numpy frames to QImages that own their pixels, so they can outlive the array and cross threads."""

from __future__ import annotations

import cv2
import numpy as np
from PyQt5.QtGui import QImage

from qt_client.media.video_codec import fit_size


def bgr_to_qimage(frame: np.ndarray, max_width: int | None = None, max_height: int | None = None) -> QImage:
    """An RGB888 QImage of a BGR frame, shrunk to fit max_width x max_height; its pixels are its own.

    Shrinking here, on the worker's thread, is what keeps painting cheap: the GUI
    then draws a picture of about its displayed size.
    """
    height, width = frame.shape[:2]
    target = fit_size(width, height, max_width or width, max_height or height)
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


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB888 QImage holding a copy of an RGB frame (one copy: the rows into the image's own buffer)."""
    height, width = rgb.shape[:2]
    image = QImage(width, height, QImage.Format_RGB888)
    bits = image.bits()
    bits.setsize(image.sizeInBytes())
    rows = np.frombuffer(bits, np.uint8).reshape(height, image.bytesPerLine())
    rows[:, :3 * width] = rgb.reshape(height, 3 * width)
    return image
