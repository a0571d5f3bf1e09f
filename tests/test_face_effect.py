"""FaceEffect: a real face is found and hidden (or outlined), and nothing else in the picture changes.

tests/data/face.png is scikit-image's astronaut photograph (NASA, public domain),
cropped by scripts/make_face_image.py.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from qt_client.media.face_effect import FaceEffect, Rect, cascade_path
from qt_client.media.test_pattern_source import TestPatternSource

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    image = cv2.imread(str(DATA / "face.png"), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.fixture(scope="module")
def room_with_face(face: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """A 640x480 camera-like frame with the face pasted in, at webcam size, at a known offset."""
    capture = cv2.VideoCapture(str(DATA / "clip.avi"))
    ok, background = capture.read()
    capture.release()
    assert ok
    frame = cv2.resize(background, (640, 480))
    left, top = 260, 110
    frame[top:top + 2 * face.shape[0], left:left + 2 * face.shape[1]] = cv2.resize(face, None, fx=2, fy=2)
    return frame, (left, top)


def outside(frame: np.ndarray, rects: list[Rect]) -> np.ndarray:
    """The frame with the rectangles blanked, to compare everything else."""
    masked = frame.copy()
    for x, y, w, h in rects:
        masked[y:y + h, x:x + w] = 0
    return masked


def region(frame: np.ndarray, rect: Rect) -> np.ndarray:
    x, y, w, h = rect
    return frame[y:y + h, x:x + w]


def sharpness(image: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_the_cascade_loads_even_where_the_opencv_wheel_lacks_it() -> None:
    assert cascade_path().is_file()
    assert not cv2.CascadeClassifier(str(cascade_path())).empty()


def test_finds_the_face_where_it_is_in_a_larger_frame(room_with_face: tuple[np.ndarray, tuple[int, int]],
                                                      face: np.ndarray) -> None:
    frame, (left, top) = room_with_face
    effect = FaceEffect("pixelate")
    effect.apply(frame)
    assert len(effect.faces) == 1
    x, y, w, h = effect.faces[0]
    # The astronaut's face is in the middle of the upper half of face.png, pasted at twice its size.
    centre_x, centre_y = (x + w / 2 - left) / 2, (y + h / 2 - top) / 2
    assert 0.35 * face.shape[1] < centre_x < 0.65 * face.shape[1]
    assert 0.25 * face.shape[0] < centre_y < 0.6 * face.shape[0]
    assert 0.3 * face.shape[1] < w / 2 < 0.8 * face.shape[1]


def test_pixelate_hides_the_face_and_leaves_the_rest(
        room_with_face: tuple[np.ndarray, tuple[int, int]]) -> None:
    frame, _ = room_with_face
    effect = FaceEffect("pixelate")
    out = effect.apply(frame)
    (rect,) = effect.faces
    assert np.array_equal(outside(out, [rect]), outside(frame, [rect]))
    hidden = region(out, rect)
    assert len(np.unique(hidden.reshape(-1, 3), axis=0)) <= 64  # a handful of blocks, not a face
    assert np.abs(hidden.astype(int) - region(frame, rect)).mean() > 5
    assert not np.shares_memory(out, frame)


def test_blur_hides_the_face_and_leaves_the_rest(room_with_face: tuple[np.ndarray, tuple[int, int]]) -> None:
    frame, _ = room_with_face
    effect = FaceEffect("blur")
    out = effect.apply(frame)
    (rect,) = effect.faces
    assert np.array_equal(outside(out, [rect]), outside(frame, [rect]))
    assert sharpness(region(out, rect)) < sharpness(region(frame, rect)) / 10
    assert effect.detect(out) == []


def test_box_outlines_the_face_and_keeps_it_visible(face: np.ndarray) -> None:
    effect = FaceEffect("box")
    out = effect.apply(face)
    (rect,) = effect.faces
    x, y, w, h = rect
    assert tuple(out[y, x + w // 2]) == (0, 220, 0)  # the top edge is drawn
    inner = (x + w // 4, y + h // 4, w // 2, h // 2)
    assert np.array_equal(region(out, inner), region(face, inner))


@pytest.mark.parametrize("mode", ["pixelate", "blur", "box"])
def test_a_frame_without_faces_comes_back_unchanged(mode: str) -> None:
    frame, _ = TestPatternSource(640, 480).read()
    effect = FaceEffect(mode)
    out = effect.apply(frame)
    assert effect.faces == []
    assert np.array_equal(out, frame)
    assert out is not frame


def test_apply_to_pixelates_exactly_the_given_rectangle() -> None:
    frame = np.random.default_rng(7).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    rect = (40, 30, 80, 60)
    out = FaceEffect("pixelate").apply_to(frame, [rect])
    assert np.array_equal(outside(out, [rect]), outside(frame, [rect]))
    inside = region(out, rect)
    # 8 cells across an 80-pixel-wide region: 10x10-pixel blocks of one colour each.
    for block_y in range(0, 60, 10):
        for block_x in range(0, 80, 10):
            block = inside[block_y:block_y + 10, block_x:block_x + 10]
            assert np.all(block == block[0, 0])
    assert not np.array_equal(inside, region(frame, rect))


def test_apply_to_clips_rectangles_that_leave_the_frame() -> None:
    frame = np.random.default_rng(8).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    out = FaceEffect("blur").apply_to(frame, [(140, 100, 50, 50), (-20, -20, 10, 10)])
    assert out.shape == frame.shape
    assert np.array_equal(out[:100], frame[:100])
    assert not np.array_equal(out[100:, 140:], frame[100:, 140:])


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="pixelate, blur, box"):
        FaceEffect("sparkle")
