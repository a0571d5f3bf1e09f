"""The fixed binary header of media frames; the payload after it is opaque."""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from protocol.framing import FrameError


class StreamKind(enum.IntEnum):
    AUDIO = 1
    VIDEO = 2


class Codec(enum.IntEnum):
    JPEG = 1
    H264 = 2
    VP8 = 3
    OPUS = 16
    PCM16 = 17  # raw 16-bit little-endian mono, for tests and fallbacks


class MediaSource(enum.IntEnum):
    """Which of a participant's video streams a frame belongs to: each is decoded on its own."""

    CAMERA = 0
    SCREEN = 1


# How control messages (`request_keyframe`, `keyframe_request`) name a source.
SOURCE_NAMES: dict[str, MediaSource] = {"camera": MediaSource.CAMERA, "screen": MediaSource.SCREEN}


FLAG_KEYFRAME = 0x01
FLAG_SCREEN = 0x02  # the frame belongs to the sender's screen share, not the camera

# stream kind, sender id, sequence, capture time (microseconds on the server's
# clock as the sender estimates it), codec, flags
MEDIA_HEADER = struct.Struct("!BIIqBB")


@dataclass(frozen=True, slots=True)
class MediaHeader:
    stream: StreamKind
    sender_id: int
    sequence: int
    capture_us: int
    codec: Codec
    keyframe: bool
    source: MediaSource = MediaSource.CAMERA

    def pack(self) -> bytes:
        flags = FLAG_KEYFRAME if self.keyframe else 0
        if self.source is MediaSource.SCREEN:
            flags |= FLAG_SCREEN
        return MEDIA_HEADER.pack(self.stream, self.sender_id, self.sequence & 0xFFFFFFFF,
                                 self.capture_us, self.codec, flags)


def parse_media_header(payload: bytes | memoryview) -> MediaHeader:
    """The header of a media frame's payload; FrameError if it is malformed."""
    if len(payload) < MEDIA_HEADER.size:
        raise FrameError(f"media frame of {len(payload)} bytes is shorter than "
                         f"its {MEDIA_HEADER.size}-byte header")
    stream, sender, sequence, capture_us, codec, flags = MEDIA_HEADER.unpack_from(payload)
    try:
        return MediaHeader(StreamKind(stream), sender, sequence, capture_us, Codec(codec),
                           bool(flags & FLAG_KEYFRAME),
                           MediaSource.SCREEN if flags & FLAG_SCREEN else MediaSource.CAMERA)
    except ValueError as exc:
        raise FrameError(f"media frame: {exc}") from None


def sender_of(payload: bytes | memoryview) -> int:
    """Just the sender id, for the relay's per-frame check (no full parse)."""
    return int.from_bytes(payload[1:5], "big")


def stream_of(payload: bytes | memoryview) -> int:
    return payload[0]
