"""Pre-encoded media for relay_bench: real frame sizes, encoded once, replayed by every load generator.

The parent encodes once (cv2 and PyAV load only there) and writes the clips to a
file; each generator process only unpickles them, so a run starts in a blink.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

from protocol.media import Codec

WIDTH, HEIGHT, FPS = 640, 480, 15
VIDEO_SECONDS = 2.0  # the test pattern's ball moves, so frame sizes vary as a camera's would
AUDIO_RATE = 48000
AUDIO_FRAMES = 50  # one second of 20 ms Opus packets
AUDIO_FPS = 50
CODECS = {"jpeg": Codec.JPEG, "h264": Codec.H264}


@dataclass(frozen=True)
class Clips:
    """One video and one audio loop; flags[i] marks video key frames."""

    video_codec: int
    video: list[bytes]
    video_keyframes: list[bool]
    audio: list[bytes]

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps(self))

    @staticmethod
    def load(path: Path) -> Clips:
        # Our own file, written moments ago by the parent process.
        return pickle.loads(path.read_bytes())


def encode_clips(codec: str) -> Clips:
    """The test pattern through the client's own encoder, and a tone through Opus."""
    from qt_client.media.audio_source import ToneSource
    from qt_client.media.opus_codec import OpusEncoder
    from qt_client.media.test_pattern_source import TestPatternSource
    from qt_client.media.video_codec import make_video_encoder

    source = TestPatternSource(WIDTH, HEIGHT, FPS)
    encoder = make_video_encoder(CODECS[codec], WIDTH, HEIGHT, FPS)
    try:
        frames = [encoder.encode(source.read()[0], force_keyframe=index == 0)
                  for index in range(round(FPS * VIDEO_SECONDS))]
    finally:
        encoder.close()
    frames = [frame for frame in frames if frame is not None]
    tone, opus = ToneSource(AUDIO_RATE), OpusEncoder(AUDIO_RATE)
    audio = [opus.encode(tone.read()) for _ in range(AUDIO_FRAMES)]
    return Clips(int(CODECS[codec]), [frame.payload for frame in frames],
                 [frame.keyframe for frame in frames], audio)
