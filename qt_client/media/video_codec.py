"""The video codec interface the workers use, so JPEG, H.264 and VP8 are interchangeable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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
    def decode(self, payload: bytes) -> np.ndarray | None:
        """The BGR frame of this payload; None while the decoder waits for a key frame."""
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


def check_frame(frame: np.ndarray, width: int, height: int) -> None:
    """Encoders take exactly the size they were made for; a mismatch is the caller's bug, said plainly."""
    if frame.shape != (height, width, 3) or frame.dtype != np.uint8:
        raise ValueError(f"expected a {width}x{height} BGR uint8 frame, got {frame.shape} {frame.dtype}")
