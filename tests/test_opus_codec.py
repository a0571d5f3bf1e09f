"""Opus round trips: one packet per 20 ms frame, sensible sizes, little delay, audio that survives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qt_client.media.audio_source import SilenceSource, ToneSource, WavSource
from qt_client.media.opus_codec import OpusDecoder, OpusEncoder

SPEECH = Path(__file__).parent / "data" / "speech_with_gaps.wav"
RATES = [48000, 16000]


def round_trip(source, rate: int, frames: int) -> tuple[np.ndarray, np.ndarray, list[bytes]]:
    encoder, decoder = OpusEncoder(rate, bitrate=32000), OpusDecoder(rate)
    sent, received, packets = [], [], []
    for _ in range(frames):
        pcm = source.read()
        packet = encoder.encode(pcm)  # one frame in, one packet out: no buffering
        decoded = decoder.decode(packet)
        assert decoded.dtype == np.int16 and decoded.shape == (rate // 50,)
        sent.append(pcm)
        received.append(decoded)
        packets.append(packet)
    return np.concatenate(sent), np.concatenate(received), packets


def aligned(sent: np.ndarray, received: np.ndarray, rate: int) -> tuple[int, float, float]:
    """The codec's delay in samples (best correlation within 20 ms), with SNR in dB and correlation there."""
    skip = rate // 5  # the encoder's first 200 ms are its warm-up
    best = (0, -np.inf, -1.0)
    for lag in range(rate // 50):
        a = sent[skip:len(sent) - lag].astype(np.float64)
        b = received[skip + lag:].astype(np.float64)
        correlation = float(np.corrcoef(a, b)[0, 1])
        if correlation > best[2]:
            best = (lag, 10 * np.log10(np.sum(a**2) / np.sum((a - b) ** 2)), correlation)
    return best


@pytest.mark.parametrize("rate", RATES)
def test_tone_round_trip_keeps_the_waveform(rate: int) -> None:
    sent, received, packets = round_trip(ToneSource(rate, 440.0, 0.3), rate, 100)
    _, snr, _ = aligned(sent, received, rate)
    assert snr >= 20.0  # measured 28 dB at both rates
    assert max(len(p) for p in packets) < 200


@pytest.mark.parametrize("rate", RATES)
def test_speech_round_trip_is_close_and_late_by_under_10_ms(rate: int) -> None:
    sent, received, packets = round_trip(WavSource(SPEECH, rate), rate, 300)
    lag, _, correlation = aligned(sent, received, rate)
    assert correlation >= 0.9  # measured 0.965 at both rates
    assert lag <= rate // 100  # measured 6.4 ms at 48 kHz, 7.4 ms at 16 kHz
    # 32 kbit/s is 80 bytes per frame; speech with pauses averages below that (measured 51-66).
    assert np.mean([len(p) for p in packets]) <= 100
    assert max(len(p) for p in packets) < 200


def test_silence_costs_almost_nothing() -> None:
    _, received, packets = round_trip(SilenceSource(16000), 16000, 50)
    assert max(len(p) for p in packets[5:]) <= 20
    assert np.max(np.abs(received)) <= 10


def test_frames_of_the_wrong_size_or_type_are_rejected() -> None:
    encoder = OpusEncoder(16000)
    with pytest.raises(ValueError, match="shape"):
        encoder.encode(np.zeros(480, dtype=np.int16))
    with pytest.raises(ValueError, match="int16"):
        encoder.encode(np.zeros(320, dtype=np.float32))


def test_unsupported_rate_is_rejected() -> None:
    with pytest.raises(ValueError, match="44100"):
        OpusEncoder(44100)
    with pytest.raises(ValueError, match="44100"):
        OpusDecoder(44100)


def test_bad_packets_raise_and_the_decoder_keeps_working() -> None:
    encoder, decoder = OpusEncoder(16000), OpusDecoder(16000)
    for bad in (b"", b"\xff\xff\xff\xff\xff", bytes(range(200))):
        with pytest.raises(ValueError):
            decoder.decode(bad)
    tone = ToneSource(16000, 440.0, 0.3)
    decoded = [decoder.decode(encoder.encode(tone.read())) for _ in range(20)]
    assert np.max(np.abs(decoded[-1])) > 0.2 * 32767
