"""JPEG video, the original client's baseline: every frame stands alone, so every frame is a key frame."""

from __future__ import annotations

import cv2
import numpy as np

from qt_client.media.video_codec import DecodeError, EncodedFrame, check_frame, fit_image

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


# libjpeg decodes at 1/2, 1/4 or 1/8 of the size for a fraction of the cost (1.4 -> 0.3 ms at 640x480).
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


class JpegDecoder:
    def __init__(self) -> None:
        self._last_size: tuple[int, int] | None = None  # a stream's frames rarely change size

    def decode(self, payload: bytes, fit: tuple[int, int] | None = None, rgb: bool = False) -> np.ndarray:
        # imdecode would also accept PNG or BMP; a JPEG stream that carries them is broken.
        if not payload.startswith(_SOI):
            raise DecodeError(f"not a JPEG: {len(payload)} bytes starting {payload[:4].hex()}")
        factor, mode = self._reduction(fit)
        frame = cv2.imdecode(np.frombuffer(payload, np.uint8), mode)
        if frame is None:
            raise DecodeError(f"corrupt JPEG of {len(payload)} bytes")
        self._last_size = (frame.shape[0] * factor, frame.shape[1] * factor)  # about the stream's size
        frame = fit_image(frame, fit)
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb else frame

    def _reduction(self, fit: tuple[int, int] | None) -> tuple[int, int]:
        """(factor, imdecode mode): reduced when the last frame was at least twice `fit` each way."""
        if fit is not None and self._last_size is not None:
            height, width = self._last_size
            for factor, mode in _REDUCED:
                if width >= fit[0] * factor and height >= fit[1] * factor:
                    return factor, mode
        return 1, cv2.IMREAD_COLOR

    def close(self) -> None:
        """Nothing to release."""
