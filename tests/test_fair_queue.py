"""FairQueue: owners take turns, and the bounds refuse instead of growing."""

from __future__ import annotations

import threading

import pytest

from server.fair_queue import FairQueue


def _drain(queue: FairQueue[str]) -> list[str]:
    queue.close()
    return list(iter(queue.get, None))


def test_a_late_owner_waits_behind_one_item_of_each_other_owner_not_behind_a_flood() -> None:
    queue: FairQueue[str] = FairQueue()
    for n in range(100):
        assert queue.put("flood", f"guess-{n}")
    assert queue.put("other", "other-1")
    assert queue.put("person", "login")
    order = _drain(queue)
    assert order.index("login") == 2  # behind guess-0 and other-1, not behind 100 guesses
    assert [item for item in order if item.startswith("guess")] == [f"guess-{n}" for n in range(100)]


def test_the_total_and_each_owners_share_are_bounded() -> None:
    queue: FairQueue[int] = FairQueue(max_items=5, max_per_owner=3)
    assert [queue.put("a", n) for n in range(4)] == [True, True, True, False]
    assert [queue.put("b", n) for n in range(3)] == [True, True, False]  # the total is full
    assert len(queue) == 5
    queue.get()
    assert queue.put("c", 9)


def test_close_hands_out_what_is_queued_then_none_to_every_waiting_worker() -> None:
    queue: FairQueue[int] = FairQueue()
    got: list[int | None] = []
    workers = [threading.Thread(target=lambda: got.append(queue.get())) for _ in range(3)]
    for worker in workers:
        worker.start()
    queue.put("a", 1)
    queue.close()
    for worker in workers:
        worker.join(5)
    assert sorted(got, key=str) == [1, None, None]
    with pytest.raises(RuntimeError):
        queue.put("a", 2)
