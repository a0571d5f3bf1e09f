"""Synthetic and WAV audio sources: right pitch, no clicks, loops, resampling, clear errors."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from qt_client.media.audio_source import SilenceSource, ToneSource, WavSource, synthetic_source

DATA = Path(__file__).parent / "data"


def write_wav(path: Path, samples: np.ndarray, rate: int, channels: int = 1, width: int = 2) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def tone(rate: int, frequency: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amplitude * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def read_seconds(source, seconds: float) -> np.ndarray:
    return np.concatenate([source.read() for _ in range(round(seconds * 50))])


@pytest.mark.parametrize(("rate", "frequency"), [(16000, 1000.0), (48000, 440.0)])
def test_tone_has_the_requested_pitch_and_level(rate: int, frequency: float) -> None:
    source = ToneSource(rate, frequency, amplitude=0.3)
    frame = source.read()
    assert frame.dtype == np.int16 and frame.shape == (rate // 50,)
    samples = read_seconds(source, 1.0)
    assert abs(peak_hz(samples, rate) - frequency) <= 1.0
    assert abs(int(np.max(samples)) - round(0.3 * 32767)) <= 1


def test_tone_is_one_continuous_wave_across_frames() -> None:
    # 441 Hz does not fit a whole number of cycles in 20 ms, so a phase reset would show.
    rate, frequency = 16000, 441.0
    samples = read_seconds(ToneSource(rate, frequency, amplitude=0.5), 10.0).astype(np.int32)
    expected = np.rint(0.5 * 32767 * np.sin(2 * np.pi * frequency * np.arange(len(samples)) / rate))
    assert np.max(np.abs(samples - expected)) <= 1
    steps = np.abs(np.diff(samples))
    at_edges = steps[319::320]  # from the last sample of each frame to the first of the next
    # A click is a jump larger than the steepest step of the sine itself.
    assert at_edges.max() <= 2 * np.pi * frequency / rate * 0.5 * 32767 + 1


def test_silence_is_digital_zero() -> None:
    frame = SilenceSource(48000).read()
    assert frame.dtype == np.int16 and frame.shape == (960,) and not frame.any()


def test_wav_plays_at_its_own_rate_and_loops_exactly(tmp_path: Path) -> None:
    # 330 samples is not a whole frame, so the loop seam falls inside a frame.
    ramp = np.arange(330, dtype=np.int16)
    source = WavSource(write_wav(tmp_path / "ramp.wav", ramp, 16000))
    assert source.sample_rate == 16000 and source.frame_samples == 320
    played = np.concatenate([source.read() for _ in range(4)])
    assert np.array_equal(played, np.resize(ramp, 4 * 320))


def test_wav_without_loop_pads_the_last_frame_then_ends(tmp_path: Path) -> None:
    samples = np.full(500, 1000, dtype=np.int16)
    source = WavSource(write_wav(tmp_path / "short.wav", samples, 16000), loop=False)
    assert np.all(source.read() == 1000)
    last = source.read()
    assert np.all(last[:180] == 1000) and not last[180:].any()
    with pytest.raises(EOFError):
        source.read()


def test_wav_is_resampled_keeping_pitch_and_duration(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "a.wav", tone(48000, 1000.0, 1.0), 48000)
    source = WavSource(path, sample_rate=16000)
    assert source.frame_samples == 320
    one_pass = read_seconds(source, 1.0)
    assert abs(peak_hz(one_pass, 16000) - 1000.0) <= 1.0
    # After exactly one second the file starts over.
    assert np.array_equal(read_seconds(source, 1.0), one_pass)


def test_downsampling_filters_what_would_alias(tmp_path: Path) -> None:
    # A 12 kHz tone cannot exist at 16 kHz; naive decimation would turn it into a loud 4 kHz whistle.
    path = write_wav(tmp_path / "high.wav", tone(48000, 12000.0, 1.0), 48000)
    samples = read_seconds(WavSource(path, sample_rate=16000), 1.0).astype(np.float64)
    rms = np.sqrt(np.mean(samples**2))
    assert rms < 0.01 * 0.5 * 32767


def test_upsampling_keeps_level_and_pitch(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "low.wav", tone(16000, 500.0, 1.0), 16000)
    samples = read_seconds(WavSource(path, sample_rate=48000), 1.0)
    assert abs(peak_hz(samples, 48000) - 500.0) <= 1.0
    assert abs(int(np.max(samples)) - round(0.5 * 32767)) < 0.02 * 32767


def test_stereo_wav_is_mixed_to_mono(tmp_path: Path) -> None:
    stereo = np.tile(np.array([1000, 3000], dtype=np.int16), 320)
    source = WavSource(write_wav(tmp_path / "stereo.wav", stereo, 16000, channels=2))
    assert np.all(source.read() == 2000)


def test_committed_speech_wav_matches_its_segments() -> None:
    segments = json.loads((DATA / "speech_with_gaps.json").read_text())
    with wave.open(str(DATA / "speech_with_gaps.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (16000, 1, 2)
        assert w.getnframes() == segments["speech"][-1][1]
    source = WavSource(DATA / "speech_with_gaps.wav", loop=False)
    samples = np.concatenate([source.read() for _ in range(-(-segments["speech"][-1][1] // 320))])
    for start, end in segments["silence"]:
        assert not samples[start:end].any()
    for start, end in segments["speech"]:
        assert np.sqrt(np.mean(samples[start:end].astype(np.float64) ** 2)) > 500


def test_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.wav"):
        WavSource(tmp_path / "nowhere.wav")


def test_not_a_wav_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples")
    with pytest.raises(ValueError, match="not a PCM WAV"):
        WavSource(path)


def test_8_bit_wav_is_rejected(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "8bit.wav", np.full(320, 128, dtype=np.uint8), 16000, width=1)
    with pytest.raises(ValueError, match="16-bit"):
        WavSource(path)


def test_empty_wav_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no audio"):
        WavSource(write_wav(tmp_path / "empty.wav", np.zeros(0, dtype=np.int16), 16000))


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError):
        ToneSource(16000, frequency=9000.0)
    with pytest.raises(ValueError):
        ToneSource(16000, amplitude=1.5)
    with pytest.raises(ValueError, match="20 ms"):
        SilenceSource(11025)


def test_microphone_settings_name_their_synthetic_sources(tmp_path: Path) -> None:
    clip = write_wav(tmp_path / "clip.wav", tone(16000, 440.0, 0.1), 16000)
    assert isinstance(synthetic_source("tone", 48000), ToneSource)
    assert isinstance(synthetic_source("silence", 48000), SilenceSource)
    wav = synthetic_source(f"wav:{clip}", 48000)
    assert isinstance(wav, WavSource) and wav.sample_rate == 48000
    assert synthetic_source("default", 48000) is None and synthetic_source("USB Mic", 48000) is None
    with pytest.raises(FileNotFoundError, match="no WAV file"):
        synthetic_source(f"wav:{tmp_path / 'gone.wav'}", 48000)
