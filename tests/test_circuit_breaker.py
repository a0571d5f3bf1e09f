"""CircuitBreaker: a few failures in a row open it; one probe per cooldown; a success closes it."""

from __future__ import annotations

import logging

import pytest

from server.circuit_breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("the database", failures=3, cooldown=2.0, clock=clock)


def test_opens_only_after_enough_failures_in_a_row(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        assert breaker.allow()
        breaker.failed("refused")
    breaker.succeeded()  # the streak is broken
    for _ in range(2):
        breaker.failed("refused")
    assert breaker.allow() and not breaker.is_open
    breaker.failed("refused")
    assert breaker.is_open and not breaker.allow()


def test_one_probe_per_cooldown_and_its_outcome_decides(breaker: CircuitBreaker, clock: Clock) -> None:
    for _ in range(3):
        breaker.failed("timed out")
    clock.now += 1.9
    assert not breaker.allow()
    clock.now += 0.2
    assert not breaker.is_open  # cooled down: the next caller may probe
    assert breaker.allow()
    assert not breaker.allow() and breaker.is_open  # only one probe at a time
    breaker.failed("timed out again")
    clock.now += 1.0
    assert not breaker.allow()  # a failed probe starts another cooldown
    clock.now += 1.1
    assert breaker.allow()
    breaker.succeeded()
    assert all(breaker.allow() for _ in range(10))


def test_one_line_when_it_goes_down_and_one_when_it_comes_back(
        breaker: CircuitBreaker, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="server.circuit_breaker"):
        for _ in range(20):
            breaker.failed("connection refused")
            clock.now += 0.5
            if breaker.allow():
                pass  # a probe, which the next failed() answers
        clock.now += 5.0
        assert breaker.allow()
        breaker.succeeded()
        breaker.succeeded()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2, lines
    assert "the database is unavailable (connection refused)" in lines[0]
    assert "the database is available again" in lines[1]


def test_nonsense_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker("x", failures=0)
    with pytest.raises(ValueError):
        CircuitBreaker("x", cooldown=0)
