"""Media sources named on the bot's command line."""

from __future__ import annotations

from qt_client.media.audio_source import AudioSource, ToneSource, WavSource
from qt_client.media.test_pattern_source import TestPatternSource
from qt_client.media.video_file_source import VideoFileSource
from qt_client.media.video_source import VideoSource


def open_video_source(spec: str, width: int, height: int, fps: float) -> VideoSource | None:
    """`testpattern`, `file:PATH` or `none`."""
    if spec == "none":
        return None
    if spec == "testpattern":
        return TestPatternSource(width, height, fps)
    if spec.startswith("file:"):
        return VideoFileSource(spec[len("file:"):], width, height, fps, loop=True)
    raise ValueError(f"--video must be testpattern, file:PATH or none, not {spec!r}")


def open_audio_source(spec: str, sample_rate: int) -> AudioSource | None:
    """`tone`, `wav:PATH` or `none`."""
    if spec == "none":
        return None
    if spec == "tone":
        return ToneSource(sample_rate)
    if spec.startswith("wav:"):
        return WavSource(spec[len("wav:"):], sample_rate, loop=True)
    raise ValueError(f"--audio must be tone, wav:PATH or none, not {spec!r}")
