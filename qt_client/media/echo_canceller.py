"""Acoustic echo cancelling with speexdsp, so others do not hear themselves back."""

from __future__ import annotations

import numpy as np
import speexdsp

from qt_client.media.audio_source import check_frame


class EchoCanceller:
    """Subtracts from the microphone frame the echo of the frame the speaker is playing.

    filter_ms is the longest echo path it can learn (speaker to room to microphone).
    """

    def __init__(self, sample_rate: int, frame_samples: int, filter_ms: int = 200) -> None:
        if frame_samples <= 0 or filter_ms <= 0:
            raise ValueError("frame_samples and filter_ms must be positive")
        self.sample_rate = sample_rate
        self.frame_samples = frame_samples
        self._state = speexdsp.EchoCanceller.create(frame_samples, sample_rate * filter_ms // 1000,
                                                    sample_rate)

    def process(self, near: np.ndarray, far: np.ndarray) -> np.ndarray:
        """The microphone frame (near) without the echo of the played frame (far)."""
        # speexdsp reads frame_samples * 2 bytes from each buffer without checking:
        # a short or wrongly typed buffer would be read past its end.
        check_frame(near, self.frame_samples, "near")
        check_frame(far, self.frame_samples, "far")
        cleaned = self._state.process(near.tobytes(), far.tobytes())
        return np.frombuffer(cleaned, dtype=np.int16).copy()
