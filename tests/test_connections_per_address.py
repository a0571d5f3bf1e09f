"""ConnectionsPerAddress: a cap per host, released on close, refusals logged once per interval."""

from __future__ import annotations

import logging

import pytest

from reactor.connections_per_address import ConnectionsPerAddress


def test_each_host_has_its_own_cap_and_a_close_frees_a_place() -> None:
    limit = ConnectionsPerAddress(2)
    assert limit.admit("10.0.0.1") and limit.admit("10.0.0.1")
    assert not limit.admit("10.0.0.1")
    assert limit.admit("10.0.0.2")
    limit.release("10.0.0.1")
    assert limit.admit("10.0.0.1")
    assert limit.refused_total == 1
    for _ in range(2):
        limit.release("10.0.0.1")
    assert limit.live("10.0.0.1") == 0


def test_refusals_are_logged_once_per_host_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    limit = ConnectionsPerAddress(1, log_interval=60.0, clock=lambda: now[0])
    limit.admit("10.0.0.1")
    with caplog.at_level(logging.WARNING):
        for _ in range(500):
            limit.admit("10.0.0.1")
        now[0] = 61.0
        limit.admit("10.0.0.1")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2, lines
    assert "(1 refused since" in lines[0] and "(500 refused since" in lines[1]


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        ConnectionsPerAddress(0)
