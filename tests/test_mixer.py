"""Mixing: loud voices never wrap around into clicks, quiet ones add up exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from qt_client.media.audio_source import ToneSource
from qt_client.media.mixer import KNEE, mix

N = 320


def test_two_full_scale_voices_do_not_wrap() -> None:
    loud = ToneSource(16000, 440.0, amplitude=1.0).read()
    mixed = mix([loud, loud], N)
    assert mixed.dtype == np.int16 and mixed.shape == (N,)
    # Wrap-around would flip the sign of the loudest samples.
    assert np.all(np.sign(mixed) == np.sign(loud))
    assert np.max(mixed) > 0.95 * 32767 and np.min(mixed) < -0.95 * 32767
    extremes = [np.full(N, 32767, dtype=np.int16), np.full(N, -32768, dtype=np.int16)]
    assert np.all(mix([extremes[0]] * 4, N) > 0) and np.all(mix([extremes[1]] * 4, N) < 0)


def test_loud_mix_stays_in_order() -> None:
    # The limiter bends, it does not fold: a louder sum is never played quieter.
    ramp = np.linspace(-32768, 32767, N).astype(np.int16)
    assert np.all(np.diff(mix([ramp, ramp, ramp], N).astype(np.int32)) >= 0)
    # Up to 1.2 times full scale it does not flatten either, as a hard clip would.
    ramp = np.linspace(-20000, 20000, N).astype(np.int16)
    assert np.all(np.diff(mix([ramp, ramp], N).astype(np.int32)) > 0)


def test_quiet_voices_are_the_plain_sum() -> None:
    a = ToneSource(16000, 440.0, amplitude=0.3).read()
    b = ToneSource(16000, 1000.0, amplitude=0.3).read()
    c = np.full(N, -500, dtype=np.int16)
    assert np.array_equal(mix([a, b, c], N), a.astype(np.int32) + b + c)
    assert np.array_equal(mix([a], N), a)


def test_no_voices_is_silence_of_one_frame() -> None:
    mixed = mix([], N)
    assert mixed.dtype == np.int16 and mixed.shape == (N,) and not mixed.any()


def test_frames_of_another_length_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"frames\[1\]"):
        mix([np.zeros(N, dtype=np.int16), np.zeros(N - 1, dtype=np.int16)], N)


@settings(max_examples=200, deadline=None)
@given(st.lists(arrays(np.int16, 16), max_size=8))
def test_any_mix_is_valid_audio_of_the_sum(frames: list[np.ndarray]) -> None:
    mixed = mix(frames, 16)
    total = np.sum(frames, axis=0, dtype=np.int64) if frames else np.zeros(16, dtype=np.int64)
    assert mixed.dtype == np.int16 and mixed.shape == (16,)
    assert np.array_equal(np.sign(mixed), np.sign(total))
    assert np.all(np.abs(mixed.astype(np.int64)) <= np.abs(total))
    quiet = np.abs(total) <= KNEE * 32768
    assert np.array_equal(mixed[quiet], total[quiet])
