"""ClockOffsetEstimator against a simulated server whose clock is skewed, over asymmetric, jittery paths."""

from __future__ import annotations

import random

import pytest

from qt_client.net.clock_offset import ClockOffsetEstimator

TRUE_OFFSET = 3.25  # the server's clock runs this many seconds ahead of ours


def exchange(rng: random.Random, now: float, mean_up: float, mean_down: float) -> tuple[float, float, float]:
    """One time_sync as the client sees it: the delays each way are random and unequal."""
    up = 0.0005 + rng.expovariate(1 / mean_up)
    down = 0.0005 + rng.expovariate(1 / mean_down)
    return now, now + up + TRUE_OFFSET, now + up + down


def test_offset_within_a_few_ms_despite_a_slow_uplink() -> None:
    # Uploads queue behind video (20 ms on average), replies come back fast: a
    # single sample is off by ~9 ms on average. Best-of-8 must stay within
    # 10 ms at worst and be at least 4 times better on average (it is ~1 ms).
    rng = random.Random(7)
    estimator = ClockOffsetEstimator(window=8)
    naive_errors, errors = [], []
    now = 1_700_000_000.0
    for i in range(400):
        sample = estimator.add_sample(*exchange(rng, now, mean_up=0.020, mean_down=0.002))
        now += 1.0
        # Whatever the asymmetry, the truth lies within the reported bound.
        assert abs(estimator.offset - TRUE_OFFSET) <= estimator.error_bound + 1e-9
        if i >= 8:
            errors.append(abs(estimator.offset - TRUE_OFFSET))
            naive_errors.append(abs(sample.offset - TRUE_OFFSET))
    assert max(errors) < 0.010, f"worst error {max(errors) * 1000:.1f} ms"
    assert sum(errors) / len(errors) < 0.25 * sum(naive_errors) / len(naive_errors)


def test_the_fastest_exchange_wins() -> None:
    estimator = ClockOffsetEstimator()
    estimator.add_sample(100.0, 110.5, 100.4)   # rtt 400 ms: offset 10.3
    estimator.add_sample(101.0, 111.02, 101.02)  # rtt 20 ms: offset 10.01
    estimator.add_sample(102.0, 112.9, 102.2)   # rtt 200 ms: offset 10.8
    assert estimator.offset == pytest.approx(10.01)
    assert estimator.rtt == pytest.approx(0.02)
    assert estimator.error_bound == pytest.approx(0.01)


def test_old_samples_leave_the_window_so_a_clock_step_is_followed() -> None:
    # The server's clock is stepped (e.g. NTP on the server): an old, very fast
    # sample must not pin the estimate to the old clock for ever.
    estimator = ClockOffsetEstimator(window=4)
    estimator.add_sample(0.0, 5.0005, 0.001)
    for t in range(1, 5):
        estimator.add_sample(float(t), t + 7.005, t + 0.010)
    assert estimator.offset == pytest.approx(7.0)


def test_conversions_and_empty_state() -> None:
    estimator = ClockOffsetEstimator()
    assert not estimator.has_samples
    assert estimator.offset == 0.0 and estimator.rtt is None and estimator.error_bound is None
    estimator.add_sample(50.0, 48.0, 50.0)  # the server is 2 s behind
    assert estimator.local_to_server(1000.0) == pytest.approx(998.0)
    assert estimator.server_time_to_local(998.0) == pytest.approx(1000.0)


def test_a_reply_before_its_request_is_refused() -> None:
    estimator = ClockOffsetEstimator()
    with pytest.raises(ValueError):
        estimator.add_sample(10.0, 12.0, 9.0)
    assert not estimator.has_samples
