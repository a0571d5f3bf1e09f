"""Make tests/data/clip.avi: 3 s of camera-like video (320x240, 15 fps, MJPG) with no camera.

The test pattern is flat colour that codecs find easy; codec tests and benchmarks
also need what a webcam gives: a slowly panning textured room, soft gradients, a
swaying head-and-shoulders shape, a fast small object and sensor noise. The
picture is seeded, so re-running gives the same content.

    .venv/bin/python scripts/make_test_clip.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT, FPS, SECONDS = 320, 240, 15, 3
MJPG_QUALITY = 75  # keeps the committed file well under 500 KB
NOISE_SIGMA = 2.5
PAN = 24  # how far the "camera" drifts, in pixels each way
CLIP = Path(__file__).resolve().parent.parent / "tests" / "data" / "clip.avi"


def room(rng: np.random.Generator) -> np.ndarray:
    """The background, larger than the frame so that the view can pan across it."""
    h, w = HEIGHT + 2 * PAN, WIDTH + 2 * PAN
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = np.dstack([150 + 40 * ys / h, 170 + 30 * xs / w, 200 - 20 * ys / h])  # warm wall, BGR
    texture = cv2.GaussianBlur(rng.normal(0, 30, (h, w)).astype(np.float32), (0, 0), 3)
    wall += texture[..., None]
    cv2.rectangle(wall, (w - 130, 20), (w - 30, 120), (250, 245, 235), -1)  # a bright window
    for i, colour in enumerate(((40, 60, 140), (60, 120, 60), (140, 80, 40), (30, 140, 170))):
        cv2.rectangle(wall, (20 + 28 * i, 40), (42 + 28 * i, 130), colour, -1)  # books on a shelf
    cv2.rectangle(wall, (12, 130), (140, 138), (60, 80, 100), -1)
    return cv2.GaussianBlur(wall, (0, 0), 1.2)


def person_mask(t: float) -> np.ndarray:
    """Soft-edged head and shoulders that sway and nod, as someone in a call does."""
    mask = np.zeros((HEIGHT, WIDTH), np.float32)
    cx = WIDTH // 2 + round(30 * np.sin(2 * np.pi * t / SECONDS))
    cy = 100 + round(6 * np.sin(4 * np.pi * t / SECONDS))
    cv2.ellipse(mask, (cx, HEIGHT + 20), (110, 90), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (cx, cy), (42, 54), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), 2)


def frame(background: np.ndarray, index: int, rng: np.random.Generator) -> np.ndarray:
    t = index / FPS
    dx = PAN + round(PAN * 0.8 * np.sin(2 * np.pi * t / (2 * SECONDS)))
    dy = PAN + round(PAN * 0.3 * np.cos(2 * np.pi * t / SECONDS))
    picture = background[dy:dy + HEIGHT, dx:dx + WIDTH].copy()
    mask = person_mask(t)[..., None]
    cx = WIDTH // 2 + round(30 * np.sin(2 * np.pi * t / SECONDS))
    ys = np.arange(HEIGHT, dtype=np.float32)[:, None, None]
    skin_and_shirt = np.where(ys < 162, (140, 170, 215), (120, 60, 40)).astype(np.float32)
    # Shading across the face so it is not one flat colour.
    xs = np.arange(WIDTH, dtype=np.float32)[None, :, None]
    skin_and_shirt = skin_and_shirt * (1.1 - 0.3 * np.abs(xs - cx) / 60).clip(0.6, 1.1)
    picture = picture * (1 - mask) + skin_and_shirt * mask
    cy = 100 + round(6 * np.sin(4 * np.pi * t / SECONDS))
    cv2.ellipse(picture, (cx, cy - 18), (44, 40), 0, 180, 360, (40, 50, 70), -1, cv2.LINE_AA)  # hair
    ball = (round(20 + (WIDTH - 40) * (index % 20) / 19), 200 - round(60 * abs(np.sin(np.pi * index / 10))))
    cv2.circle(picture, ball, 8, (30, 200, 240), -1, cv2.LINE_AA)
    picture += rng.normal(0, NOISE_SIGMA, picture.shape)
    return picture.clip(0, 255).astype(np.uint8)


def main() -> None:
    rng = np.random.default_rng(20240401)
    background = room(rng)
    CLIP.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(CLIP), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit(f"OpenCV cannot write MJPG to {CLIP}")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, MJPG_QUALITY)
    for index in range(FPS * SECONDS):
        writer.write(frame(background, index, rng))
    writer.release()
    print(f"{CLIP}: {FPS * SECONDS} frames, {CLIP.stat().st_size} bytes")


if __name__ == "__main__":
    main()
