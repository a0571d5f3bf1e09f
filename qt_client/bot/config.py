"""What one bot does, as parsed from its command line."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.media import Codec

CODECS = {"jpeg": Codec.JPEG, "h264": Codec.H264, "vp8": Codec.VP8}


@dataclass(frozen=True)
class BotConfig:
    host: str
    port: int
    user: str
    password: str
    create_room: bool
    room: str | None
    room_password: str | None
    persistent: bool
    video: str  # "testpattern", "file:PATH" or "none"
    audio: str  # "tone", "wav:PATH" or "none"
    screen: str  # "none", "slide" or "file:PATH": a still picture shared as the screen stream
    codec: Codec
    width: int
    height: int
    fps: float
    quality: int
    bitrate: int
    keyframe_interval: float
    sample_rate: int
    vad: bool
    vad_aggressiveness: int
    face_effect: str  # "none", "pixelate", "blur" or "box"
    pre_encoded: bool
    decode: bool
    seconds: float
    wait_members: int
    linger: float
    playout_delay_ms: int
    # TLS: a server no CA vouches for is trusted only by this key (64 hex digits), or by --tofu
    # (pinned in `pin_store` on first use); `tls` False only for a server run with --no-tls.
    tls: bool = True
    trust_fingerprint: str | None = None
    tofu: bool = False
    pin_store: str | None = None  # None: the user's known_servers.json
    ca_file: str | None = None  # a private CA's certificate, instead of the system's
