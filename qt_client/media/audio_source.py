"""Audio sources without a device: a tone, silence and a WAV file, in 20 ms int16 frames.

Every microphone has these synthetic twins so that tests and the headless bot run
on machines without a sound card. Sources never sleep: the caller paces them.
"""

from __future__ import annotations

import math
import wave
from pathlib import Path

import av
import numpy as np

FRAMES_PER_SECOND = 50  # 20 ms frames everywhere in the audio path
FULL_SCALE = 32767
WAV_PREFIX = "wav:"  # a microphone setting "wav:/path/clip.wav" plays that file


def check_frame(frame: np.ndarray, frame_samples: int, name: str = "frame") -> None:
    """Raise ValueError unless frame is one mono int16 frame; C code downstream would misread it."""
    if not isinstance(frame, np.ndarray) or frame.dtype != np.int16:
        raise ValueError(f"{name} must be a numpy int16 array, got {getattr(frame, 'dtype', type(frame))}")
    if frame.shape != (frame_samples,):
        raise ValueError(f"{name} must have shape ({frame_samples},), got {frame.shape}")


class AudioSource:
    """A stream of 20 ms mono int16 frames at one sample rate."""

    def __init__(self, sample_rate: int) -> None:
        if sample_rate <= 0 or sample_rate % FRAMES_PER_SECOND:
            raise ValueError(f"sample rate {sample_rate} Hz does not divide into 20 ms frames")
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // FRAMES_PER_SECOND

    def read(self) -> np.ndarray:
        """The next 20 ms frame, shape (frame_samples,), dtype int16."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the device; synthetic sources hold none."""


class SilenceSource(AudioSource):
    """Digital silence: a muted microphone, or a participant that only listens."""

    def read(self) -> np.ndarray:
        return np.zeros(self.frame_samples, dtype=np.int16)


class ToneSource(AudioSource):
    """A sine tone whose phase carries over between frames, so frame edges do not click."""

    def __init__(self, sample_rate: int, frequency: float = 440.0, amplitude: float = 0.3) -> None:
        super().__init__(sample_rate)
        if not 0 < frequency < sample_rate / 2:
            raise ValueError(f"tone of {frequency} Hz is not below half the sample rate")
        if not 0 <= amplitude <= 1:
            raise ValueError(f"amplitude {amplitude} is outside 0..1 of full scale")
        self._step = 2 * math.pi * frequency / sample_rate
        self._amplitude = amplitude * FULL_SCALE
        self._phase = 0.0

    def read(self) -> np.ndarray:
        phases = self._phase + self._step * np.arange(self.frame_samples)
        # Wrapping keeps the phase small, so hours of tone lose no float precision.
        self._phase = (self._phase + self._step * self.frame_samples) % (2 * math.pi)
        return np.rint(self._amplitude * np.sin(phases)).astype(np.int16)


class WavSource(AudioSource):
    """A 16-bit PCM WAV file played as a microphone, mixed to mono and resampled.

    The whole file is loaded at once: it is meant for test clips and bots, not hours of audio.
    With loop=False, read() pads the last frame with silence and then raises EOFError.
    """

    def __init__(self, path: str | Path, sample_rate: int | None = None, loop: bool = True) -> None:
        pcm, file_rate = _load_wav(Path(path))
        super().__init__(sample_rate or file_rate)
        self._pcm = pcm if self.sample_rate == file_rate else _resample(pcm, file_rate, self.sample_rate)
        self._loop = loop
        self._position = 0

    def read(self) -> np.ndarray:
        n, total = self.frame_samples, len(self._pcm)
        if self._loop:
            # Indices modulo the length also cover clips shorter than one frame.
            frame = self._pcm[(self._position + np.arange(n)) % total]
            self._position = (self._position + n) % total
            return frame
        if self._position >= total:
            raise EOFError("end of the WAV file")
        frame = np.zeros(n, dtype=np.int16)
        chunk = self._pcm[self._position:self._position + n]
        frame[:len(chunk)] = chunk
        self._position += n
        return frame


def synthetic_source(microphone: str, sample_rate: int) -> AudioSource | None:
    """The device-free source a microphone setting names ("tone", "silence", "wav:PATH"), else None.

    Raises FileNotFoundError or ValueError for a WAV file that cannot be played.
    """
    if microphone == "tone":
        return ToneSource(sample_rate)
    if microphone == "silence":
        return SilenceSource(sample_rate)
    if microphone.startswith(WAV_PREFIX):
        return WavSource(microphone[len(WAV_PREFIX):], sample_rate)
    return None


def _load_wav(path: Path) -> tuple[np.ndarray, int]:
    """The file's samples as mono int16, and its sample rate."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise FileNotFoundError(f"no WAV file at {path}") from None
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path} is not a PCM WAV file: {exc}") from None
    if width != 2:
        raise ValueError(f"{path} has {8 * width}-bit samples; only 16-bit PCM is supported")
    samples = np.frombuffer(data, dtype="<i2")
    if samples.size == 0:
        raise ValueError(f"{path} holds no audio")
    # Averaging the channels cannot overflow in int32 and keeps the level of a centred voice.
    mono = samples.reshape(-1, channels).astype(np.int32).mean(axis=1)
    return np.rint(mono).astype(np.int16), rate


def _resample(pcm: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """pcm at another rate, through FFmpeg's resampler, which filters out what would alias."""
    frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=to_rate)
    # resample(None) flushes the samples the filter still holds.
    out = [f.to_ndarray()[0] for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(out).astype(np.int16)
