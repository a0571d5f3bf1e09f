"""ReconnectPolicy: full-jitter back-off, short for an outage's first minute, reset by a good connection."""

from __future__ import annotations

import random
import statistics

import pytest

from qt_client.net.reconnect_policy import ReconnectPolicy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def ceilings(policy: ReconnectPolicy, count: int) -> list[float]:
    """The upper bounds of the next waits (the random fraction fixed at its top)."""
    return [policy.next_delay() for _ in range(count)]


def test_waits_double_from_a_quarter_second_up_to_two_seconds() -> None:
    policy = ReconnectPolicy(random_fraction=lambda: 1.0, clock=FakeClock())
    assert ceilings(policy, 7) == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    assert policy.attempt == 7


def test_full_jitter_spreads_waits_over_the_whole_window() -> None:
    rng = random.Random(12)
    clock = FakeClock()
    waits = []
    for _ in range(2000):
        policy = ReconnectPolicy(random_fraction=rng.random, clock=clock)
        waits.append(ceilings(policy, 5)[-1])  # the fifth wait: window [0, 2)
    assert min(waits) >= 0 and max(waits) < 2.0
    assert min(waits) < 0.05 and max(waits) > 1.95  # not a fixed delay, nor a narrow band
    assert statistics.mean(waits) == pytest.approx(1.0, abs=0.06)
    # A room's clients restarting together spread out: no tenth of the window holds a fifth of them.
    deciles = [sum(1 for w in waits if i * 0.2 <= w < (i + 1) * 0.2) for i in range(10)]
    assert max(deciles) < 0.15 * len(waits), deciles


def test_first_attempts_come_fast() -> None:
    policy = ReconnectPolicy(random_fraction=random.Random(3).random, clock=FakeClock())
    first_three = ceilings(policy, 3)
    assert sum(first_three) < 1.75  # 0.25 + 0.5 + 1.0 at most


def test_cap_stays_two_seconds_for_the_first_minute_then_grows() -> None:
    clock = FakeClock()
    policy = ReconnectPolicy(random_fraction=lambda: 1.0, clock=clock)
    while clock.now < 1000.0 + 59.9:
        assert policy.next_delay() <= 2.0
        clock.now += 2.0
    clock.now = 1000.0 + 60.0
    later = ceilings(policy, 3)
    assert later == [10.0, 10.0, 10.0]
    assert policy.outage_seconds() == pytest.approx(60.0)


def test_reset_starts_over_and_starts_a_new_outage() -> None:
    clock = FakeClock()
    policy = ReconnectPolicy(random_fraction=lambda: 1.0, clock=clock)
    ceilings(policy, 7)
    clock.now += 90.0
    assert policy.next_delay() == 10.0  # a long outage
    policy.reset()
    assert policy.attempt == 0 and policy.outage_seconds() == 0.0
    assert ceilings(policy, 2) == [0.25, 0.5]  # fast again, and the minute counts from now
    clock.now += 30.0
    assert policy.next_delay() == 1.0


def test_a_week_long_outage_keeps_finite_bounded_waits() -> None:
    clock = FakeClock()
    policy = ReconnectPolicy(random_fraction=lambda: 1.0, clock=clock)
    for _ in range(100_000):
        clock.now += 6.0
        assert policy.next_delay() <= 10.0


def test_zero_fraction_means_no_wait_and_bad_bounds_are_refused() -> None:
    policy = ReconnectPolicy(random_fraction=lambda: 0.0, clock=FakeClock())
    assert ceilings(policy, 3) == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        ReconnectPolicy(base=3.0, cap=2.0)
    with pytest.raises(ValueError):
        ReconnectPolicy(base=0.0)
