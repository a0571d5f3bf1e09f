"""The video codec interface the workers use, so JPEG, H.264 and VP8 are interchangeable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from protocol.media import Codec


class DecodeError(ValueError):
    """The payload is not valid for this codec; the receiver should ask the sender for a key frame."""


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One frame's bitstream, and whether a receiver can start decoding from it."""

    payload: bytes
    keyframe: bool


class VideoEncoder(Protocol):
    def encode(self, frame: np.ndarray, force_keyframe: bool = False) -> EncodedFrame | None:
        """One BGR frame of the size the encoder was made for; None only if the codec held it back."""
        ...

    def close(self) -> None: ...


class VideoDecoder(Protocol):
    def decode(self, payload: bytes, fit: tuple[int, int] | None = None,
               rgb: bool = False) -> np.ndarray | None:
        """The frame of this payload (BGR, or RGB with `rgb`), shrunk to fit within `fit` (width,
        height) keeping its shape; None while the decoder waits for a key frame. Shrinking and
        converting inside the decoder is what makes a small tile cheap."""
        ...

    def close(self) -> None: ...


def make_video_encoder(codec: Codec, width: int, height: int, fps: float, *, quality: int = 80,
                       bitrate: int = 800_000, keyframe_interval_s: float = 2.0,
                       for_screen: bool = False) -> VideoEncoder:
    """An encoder for frames of width x height; `quality` is for JPEG, `bitrate` for the others.
    `for_screen` keeps full colour resolution where the codec allows it (text, thin lines)."""
    # Imported here so that a JPEG-only client never loads PyAV.
    if codec is Codec.JPEG:
        from qt_client.media.jpeg_codec import JpegEncoder

        return JpegEncoder(width, height, quality, full_chroma=for_screen)
    if codec in (Codec.H264, Codec.VP8):
        from qt_client.media.pyav_video_codec import PyAvVideoEncoder

        return PyAvVideoEncoder(codec, width, height, fps, bitrate, keyframe_interval_s)
    raise ValueError(f"{codec!r} is not a video codec")


def make_video_decoder(codec: Codec) -> VideoDecoder:
    """A decoder for any frame size: the size comes with the bitstream."""
    if codec is Codec.JPEG:
        from qt_client.media.jpeg_codec import JpegDecoder

        return JpegDecoder()
    if codec in (Codec.H264, Codec.VP8):
        from qt_client.media.pyav_video_codec import PyAvVideoDecoder

        return PyAvVideoDecoder(codec)
    raise ValueError(f"{codec!r} is not a video codec")


def fit_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The largest size of the same shape within max_width x max_height, never larger than given."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_image(image: np.ndarray, fit: tuple[int, int] | None) -> np.ndarray:
    """`image` shrunk to fit within `fit` (width, height), its shape kept; as it is when it fits."""
    if fit is None:
        return image
    height, width = image.shape[:2]
    target = fit_size(width, height, *fit)
    if target == (width, height):
        return image
    # Area averaging only pays when shrinking a lot; bilinear is four times cheaper otherwise.
    interpolation = cv2.INTER_AREA if target[0] * 2 <= width else cv2.INTER_LINEAR
    return cv2.resize(image, target, interpolation=interpolation)


def check_frame(frame: np.ndarray, width: int, height: int) -> None:
    """Encoders take exactly the size they were made for; a mismatch is the caller's bug, said plainly."""
    if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
        raise ValueError(f"expected a {width}x{height} BGR uint8 frame, got {frame.shape} {frame.dtype}")
