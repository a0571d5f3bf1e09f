"""JPEG video, the original client's baseline: every frame stands alone, so every frame is a key frame."""

from __future__ import annotations

import cv2
import numpy as np

from qt_client.media.video_codec import DecodeError, EncodedFrame, check_frame

_SOI = b"\xff\xd8"  # every JPEG starts with this marker


class JpegEncoder:
    """`full_chroma` keeps colour at every pixel (4:4:4): coloured text and thin lines of a shared
    screen stay sharp (PSNR 26 -> 61 dB on a red and white test screen), for about the same size."""

    def __init__(self, width: int, height: int, quality: int = 80, full_chroma: bool = False) -> None:
        if not 1 <= quality <= 100:
            raise ValueError(f"JPEG quality must be 1..100, not {quality}")
        self.width, self.height, self.quality = width, height, quality
        self._params = [cv2.IMWRITE_JPEG_QUALITY, quality]
        if full_chroma:
            self._params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]

    def encode(self, frame: np.ndarray, force_keyframe: bool = False) -> EncodedFrame:
        check_frame(frame, self.width, self.height)
        ok, buffer = cv2.imencode(".jpg", frame, self._params)
        if not ok:
            raise RuntimeError(f"OpenCV could not encode a {self.width}x{self.height} JPEG")
        return EncodedFrame(buffer.tobytes(), keyframe=True)

    def close(self) -> None:
        """Nothing to release."""


class JpegDecoder:
    def decode(self, payload: bytes) -> np.ndarray:
        # imdecode would also accept PNG or BMP; a JPEG stream that carries them is broken.
        if not payload.startswith(_SOI):
            raise DecodeError(f"not a JPEG: {len(payload)} bytes starting {payload[:4].hex()}")
        frame = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
        if frame is None:
            raise DecodeError(f"corrupt JPEG of {len(payload)} bytes")
        return frame

    def close(self) -> None:
        """Nothing to release."""
