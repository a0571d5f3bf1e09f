"""Frames on the wire: 4-byte big-endian length, 1-byte kind, payload.

The length counts the kind byte and the payload, so it is never 0.
"""

from __future__ import annotations

import enum
import struct

LENGTH = struct.Struct("!I")
HEADER_SIZE = LENGTH.size + 1
# Large enough for a 1280x720 key frame in JPEG at high quality; anything
# bigger is a broken or hostile peer.
MAX_FRAME_SIZE = 4 * 1024 * 1024

# What the server accepts, by connection and phase (the length prefix's value, kind byte included);
# a longer frame closes the connection before its payload is read.
# Before login (control) or media_hello (audio, video): hello, register, login and media_hello are small.
MAX_FRAME_BEFORE_LOGIN = 64 * 1024
# A logged-in control connection: a 256 KiB avatar travels as about 350 KB of base64 in update_profile.
MAX_CONTROL_FRAME = 512 * 1024
# An Opus or even a PCM frame of 20 ms is a few KB.
MAX_AUDIO_FRAME = 64 * 1024
MAX_VIDEO_FRAME = MAX_FRAME_SIZE


class FrameKind(enum.IntEnum):
    CONTROL = 1  # a JSON object, UTF-8
    MEDIA = 2  # a MediaHeader and the opaque codec payload


class FrameError(ValueError):
    """A frame that cannot be parsed; the connection that sent it is closed."""


def encode_frame(kind: FrameKind, payload: bytes) -> bytes:
    """One whole frame as bytes (kind byte and payload joined: one copy)."""
    return LENGTH.pack(len(payload) + 1) + bytes((kind,)) + payload


def frame_prefix(kind: FrameKind, payload_size: int) -> bytes:
    """Length and kind for a payload sent separately (no copy of the payload)."""
    return LENGTH.pack(payload_size + 1) + bytes((kind,))


def split_frame(body: bytes) -> tuple[int, memoryview]:
    """Kind byte and payload of a frame body (what follows the length)."""
    if not body:
        raise FrameError("empty frame: no kind byte")
    return body[0], memoryview(body)[1:]
