"""Voice detection on speech with known pauses: pauses are silent, speech is not cut."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qt_client.media.audio_source import SilenceSource, ToneSource, WavSource
from qt_client.media.voice_detector import FLOOR_DB, VoiceDetector, level_db

DATA = Path(__file__).parent / "data"
SEGMENTS = json.loads((DATA / "speech_with_gaps.json").read_text())
HANGOVER = 10
# webrtcvad holds 'speech' for a few frames itself after long speech (5 at 20 ms in mode 2),
# and the tail of the last word fades; frames this close to a gap's start are not judged.
WEBRTC_HOLD = 7


def decisions(rate: int) -> np.ndarray:
    """One speech/silence decision per 20 ms frame of the speech WAV, played once."""
    source = WavSource(DATA / "speech_with_gaps.wav", rate, loop=False)
    detector = VoiceDetector(rate, 2, HANGOVER)
    frames = -(-SEGMENTS["speech"][-1][1] // (SEGMENTS["sample_rate"] // 50))
    return np.array([detector.is_speech(source.read()) for _ in range(frames)])


def frames_within(start: int, end: int) -> range:
    """The frames wholly inside [start, end) samples of the WAV."""
    per_frame = SEGMENTS["sample_rate"] // 50
    return range(-(-start // per_frame), end // per_frame)


@pytest.mark.parametrize("rate", [16000, 48000])
def test_pauses_are_silent_and_speech_is_speech(rate: int) -> None:
    judged = decisions(rate)
    settled = HANGOVER + WEBRTC_HOLD
    pauses = [i for start, end in SEGMENTS["silence"] for i in frames_within(start, end)[settled:]]
    speaking = [i for start, end in SEGMENTS["speech"] for i in frames_within(start, end)]
    assert len(pauses) >= 50 and len(speaking) >= 250
    assert 1 - judged[pauses].mean() >= 0.9  # measured 100%
    assert judged[speaking].mean() >= 0.9  # measured 100% (99% without the hangover)


def test_hangover_holds_speech_that_many_frames_longer_then_lets_go() -> None:
    silence = SilenceSource(16000)
    held = []
    for hangover in (0, HANGOVER):
        voice = WavSource(DATA / "speech_with_gaps.wav", 16000)
        detector = VoiceDetector(16000, 2, hangover)
        assert all(detector.is_speech(voice.read()) for _ in range(20))  # 400 ms into the first phrase
        trailing = [detector.is_speech(silence.read()) for _ in range(40)]
        assert not any(trailing[-10:])  # it does let go
        held.append(trailing.index(False))
    assert held[1] - held[0] == HANGOVER


def test_tone_and_noise_are_sound_digital_silence_is_not() -> None:
    detector = VoiceDetector(16000, 2, 0)
    tone = ToneSource(16000, 440.0, 0.3)
    assert all(detector.is_speech(tone.read()) for _ in range(50))
    rng = np.random.default_rng(0)
    noise = [np.rint(rng.standard_normal(320) * 3000).astype(np.int16) for _ in range(50)]
    assert all(detector.is_speech(frame) for frame in noise)
    silence = SilenceSource(16000)
    assert not any(VoiceDetector(16000, 2, 0).is_speech(silence.read()) for _ in range(50))


def test_level_db_for_meters() -> None:
    assert level_db(ToneSource(16000, 440.0, 1.0).read()) == pytest.approx(-3.0, abs=0.1)
    assert level_db(ToneSource(16000, 440.0, 0.1).read()) == pytest.approx(-23.0, abs=0.1)
    assert level_db(np.full(320, -32768, dtype=np.int16)) == pytest.approx(0.0)
    assert level_db(np.zeros(320, dtype=np.int16)) == FLOOR_DB


def test_bad_rate_and_frame_are_rejected() -> None:
    with pytest.raises(ValueError, match="44100"):
        VoiceDetector(44100)
    with pytest.raises(ValueError):
        VoiceDetector(16000).is_speech(np.zeros(480, dtype=np.int16))
