"""ReconnectPolicy: full-jitter back-off, short for an outage's first minute (shortest for its first
10 s), reset by a good connection."""

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


def test_waits_double_from_a_quarter_second_up_to_one_second_then_two_after_10_s() -> None:
    clock = FakeClock()
    policy = ReconnectPolicy(random_fraction=lambda: 1.0, clock=clock)
    assert ceilings(policy, 5) == [0.25, 0.5, 1.0, 1.0, 1.0]
    clock.now += 10.0
    assert ceilings(policy, 2) == [2.0, 2.0]
    assert policy.attempt == 7


def test_the_wait_left_when_the_server_returns_is_short_for_almost_everyone() -> None:
    # Clients dialling a server that comes back 3 s into the outage: how long each still waits
    # from that moment until its next dial (the figure that sets when a call is whole again).
    rng = random.Random(5)
    left = []
    for _ in range(2000):
        clock = FakeClock()
        policy = ReconnectPolicy(random_fraction=rng.random, clock=clock)
        start = clock.now
        while clock.now - start < 3.0:
            clock.now += policy.next_delay()
        left.append(clock.now - start - 3.0)
    left.sort()
    assert left[int(0.95 * len(left))] < 0.9  # with a 2 s cap it would be about 1.55 s


def test_full_jitter_spreads_waits_over_the_whole_window() -> None:
    rng = random.Random(12)
    clock = FakeClock()
    waits = []
    for _ in range(2000):
        policy = ReconnectPolicy(random_fraction=rng.random, clock=clock)
        waits.append(ceilings(policy, 5)[-1])  # the fifth wait: window [0, 1)
    assert min(waits) >= 0 and max(waits) < 1.0
    assert min(waits) < 0.025 and max(waits) > 0.975  # not a fixed delay, nor a narrow band
    assert statistics.mean(waits) == pytest.approx(0.5, abs=0.03)
    # A room's clients restarting together spread out: no tenth of the window holds a fifth of them.
    deciles = [sum(1 for w in waits if i * 0.1 <= w < (i + 1) * 0.1) for i in range(10)]
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
    assert policy.next_delay() == 2.0  # past the first 10 s


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
    with pytest.raises(ValueError):
        ReconnectPolicy(early_cap=3.0)  # above the cap
    with pytest.raises(ValueError):
        ReconnectPolicy(early_period=90.0)  # past the patience
