"""Make tests/data/face.png: a real face for the face-effect tests, from scikit-image's astronaut.

Haar cascades find only real faces, and no camera is at hand. The astronaut
photograph (Eileen Collins, NASA, public domain) ships inside scikit-image; this
crops her head and shoulders to 176x176 (under 60 KB). scikit-image is needed only to run this
script (.venv/bin/pip install scikit-image), not by the project or its tests.

    .venv/bin/python scripts/make_face_image.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
from skimage import data

SIZE = 176
CROP = (slice(0, 260), slice(100, 360))  # rows, columns of the 512x512 original
FACE = Path(__file__).resolve().parent.parent / "tests" / "data" / "face.png"


def main() -> None:
    head = cv2.cvtColor(data.astronaut()[CROP], cv2.COLOR_RGB2BGR)
    small = cv2.resize(head, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    FACE.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(FACE), small, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise SystemExit(f"cannot write {FACE}")
    print(f"{FACE}: {SIZE}x{SIZE}, {FACE.stat().st_size} bytes")


if __name__ == "__main__":
    main()
