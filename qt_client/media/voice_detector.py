"""Voice activity detection with webrtcvad: silence is not sent, and shows as muted."""

from __future__ import annotations

import math

import numpy as np
import webrtcvad

from qt_client.media.audio_source import FRAMES_PER_SECOND, check_frame

VAD_RATES = (8000, 16000, 32000, 48000)
FLOOR_DB = -100.0  # what meters show for digital silence, instead of minus infinity


class VoiceDetector:
    """Says whether a 20 ms frame is speech, holding 'speech' a little after the voice stops.

    The hangover keeps short pauses between words, and soft word endings, from being cut.
    """

    def __init__(self, sample_rate: int, aggressiveness: int = 2, hangover_frames: int = 10) -> None:
        if sample_rate not in VAD_RATES:
            raise ValueError(f"webrtcvad does not run at {sample_rate} Hz; use one of {VAD_RATES}")
        if hangover_frames < 0:
            raise ValueError("hangover_frames must not be negative")
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // FRAMES_PER_SECOND
        self._vad = webrtcvad.Vad(aggressiveness)
        self._hangover = hangover_frames
        self._remaining = 0

    def is_speech(self, frame: np.ndarray) -> bool:
        """True for voice, and for the hangover_frames frames that follow it."""
        check_frame(frame, self.frame_samples)
        if self._vad.is_speech(frame.tobytes(), self.sample_rate):
            self._remaining = self._hangover
            return True
        if self._remaining:
            self._remaining -= 1
            return True
        return False


def level_db(frame: np.ndarray) -> float:
    """RMS level in dBFS (a full-scale square wave is 0 dB) for volume meters; FLOOR_DB at least."""
    rms = math.sqrt(float(np.mean(np.square(frame, dtype=np.float64)))) if frame.size else 0.0
    if rms == 0:
        return FLOOR_DB
    return max(FLOOR_DB, 20 * math.log10(rms / 32768))
