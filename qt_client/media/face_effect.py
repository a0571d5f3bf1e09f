"""Pixelates, blurs or outlines faces in outgoing video with the Haar face cascade (no model download)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

Rect = tuple[int, int, int, int]  # x, y, width, height in frame pixels

MODES = ("pixelate", "blur", "box")
CASCADE_NAME = "haarcascade_frontalface_default.xml"
# OpenCV 5's wheels no longer carry the cascades (cv2.data is an empty folder), so the
# one from the opencv-python-headless 4.14 wheel ships gzipped in cascades/, its Intel
# licence inside; OpenCV's FileStorage reads .xml.gz as it is.
_BUNDLED_CASCADE = Path(__file__).with_name("cascades") / (CASCADE_NAME + ".gz")
# Haar boxes run from brows to mouth; hiding a face must also cover forehead and chin.
_MARGIN = 0.15
# Someone in a call fills a good part of the picture, and the smallest sizes cost
# most of the search: faces narrower than this fraction of the frame are ignored.
_MIN_FACE = 0.1
_PIXEL_CELLS = 8  # across a face: unrecognisable, yet still reads as a face
_BOX_COLOUR = (0, 220, 0)


def cascade_path() -> Path:
    """OpenCV's own copy of the frontal face cascade where the wheel has one, else the bundled copy."""
    data = getattr(cv2, "data", None)
    if data is not None:
        own = Path(data.haarcascades) / CASCADE_NAME
        if own.is_file():
            return own
    return _BUNDLED_CASCADE


class FaceEffect:
    """Finds faces on a small grey copy of each frame (detection dominates the cost) and processes them."""

    def __init__(self, mode: str = "pixelate", detect_width: int = 320) -> None:
        if mode not in MODES:
            raise ValueError(f"face effect mode must be one of {', '.join(MODES)}, not {mode!r}")
        path = cascade_path()
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise RuntimeError(f"cannot load the face cascade {path}")
        self.mode = mode
        self.detect_width = detect_width
        self.faces: list[Rect] = []  # what the last `apply` found and processed

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """A copy of the frame with every face found processed; `faces` says where they were."""
        self.faces = self.detect(frame)
        return self.apply_to(frame, self.faces)

    def detect(self, frame: np.ndarray) -> list[Rect]:
        """Faces in frame coordinates, widened by a margin and clipped to the frame."""
        height, width = frame.shape[:2]
        scale = min(1.0, self.detect_width / width)
        small = cv2.resize(frame, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        min_side = max(24, round(_MIN_FACE * small.shape[1]))
        found = self._cascade.detectMultiScale(grey, scaleFactor=1.15, minNeighbors=5,
                                               minSize=(min_side, min_side))
        faces = []
        for x, y, w, h in np.asarray(found, dtype=float).reshape(-1, 4) / scale:
            left, top = max(0, round(x - _MARGIN * w)), max(0, round(y - _MARGIN * h))
            right = min(width, round(x + (1 + _MARGIN) * w))
            bottom = min(height, round(y + (1 + _MARGIN) * h))
            faces.append((left, top, right - left, bottom - top))
        return faces

    def apply_to(self, frame: np.ndarray, rects: list[Rect]) -> np.ndarray:
        """A copy of the frame with exactly these rectangles (clipped to the frame) processed."""
        out = frame.copy()
        height, width = frame.shape[:2]
        for x, y, w, h in rects:
            left, top = max(0, x), max(0, y)
            right, bottom = min(width, x + w), min(height, y + h)
            if right > left and bottom > top:
                self._process(out, left, top, right, bottom)
        return out

    def _process(self, out: np.ndarray, left: int, top: int, right: int, bottom: int) -> None:
        region = out[top:bottom, left:right]
        w, h = right - left, bottom - top
        if self.mode == "pixelate":
            cells = (max(1, min(w, _PIXEL_CELLS)), max(1, min(h, round(_PIXEL_CELLS * h / w))))
            small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
            region[:] = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        elif self.mode == "blur":
            # stackBlur costs the same for any kernel size, and a face needs a large one.
            kernel = (w // 3) | 1, (h // 3) | 1
            region[:] = cv2.stackBlur(region, kernel)
        else:
            cv2.rectangle(out, (left, top), (right - 1, bottom - 1), _BOX_COLOUR, max(2, w // 40))
