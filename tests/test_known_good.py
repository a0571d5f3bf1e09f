"""KnownGood: pairs are remembered for a while, and only so many of them."""

from __future__ import annotations

import time

from server.known_good import KnownGood


def test_pairs_are_forgotten_after_their_lifetime() -> None:
    known = KnownGood(days=0.2 / 86400)
    known.add("ada@home")
    assert "ada@home" in known and "bob@home" not in known
    time.sleep(0.25)
    assert "ada@home" not in known


def test_past_capacity_the_least_recently_proven_pair_goes() -> None:
    known = KnownGood(capacity=2)
    known.add("a")
    known.add("b")
    known.add("a")  # proven again: now the most recent
    known.add("c")
    assert "a" in known and "c" in known and "b" not in known
