"""Mixing several people's audio into one frame for playback, without wrap-around.

Summing int16 frames wraps (two loud voices become a loud click). The sum is taken
in float64; up to KNEE of full scale it is passed on exactly, and above it a tanh
curve bends it towards full scale without reaching it. This soft limiter works
sample by sample with no state, so unlike scaling a whole frame it neither changes
the level of quiet mixes nor pumps the volume from frame to frame; the price is a
little distortion on the peaks that would otherwise have clipped.
"""

from __future__ import annotations

import numpy as np

from qt_client.media.audio_source import check_frame

KNEE = 0.8  # fraction of full scale below which the mix is the exact sum
_SCALE = 32768.0


def mix(frames: list[np.ndarray], frame_samples: int) -> np.ndarray:
    """The sum of equal-length int16 frames, soft-limited into int16; silence for no frames."""
    total = np.zeros(frame_samples, dtype=np.float64)
    for index, frame in enumerate(frames):
        check_frame(frame, frame_samples, f"frames[{index}]")
        total += frame
    x = total / _SCALE
    magnitude = np.abs(x)
    over = magnitude > KNEE
    # Value and slope both match at the knee, so loud and quiet samples join smoothly.
    bent = KNEE + (1 - KNEE) * np.tanh((magnitude[over] - KNEE) / (1 - KNEE))
    x[over] = np.sign(x[over]) * bent
    # The curve stays below 1.0; the clip only trims rounding at the very top to 32767.
    return np.clip(np.rint(x * _SCALE), -32768, 32767).astype(np.int16)
