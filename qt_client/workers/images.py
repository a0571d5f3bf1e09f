"""Numpy frames to QImages that own their pixels, so they can outlive the array and cross threads."""

from __future__ import annotations

import cv2
import numpy as np
from PyQt5.QtGui import QImage


def bgr_to_qimage(frame: np.ndarray, max_width: int | None = None) -> QImage:
    """An RGB888 QImage of a BGR frame, shrunk to max_width when wider; its pixels are its own."""
    height, width = frame.shape[:2]
    if max_width is not None and width > max_width:
        height, width = max(1, round(height * max_width / width)), max_width
        frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
    rgb = np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    # QImage would only borrow rgb's buffer, which Python frees when this returns: copy it.
    return QImage(rgb.data, width, height, 3 * width, QImage.Format_RGB888).copy()
