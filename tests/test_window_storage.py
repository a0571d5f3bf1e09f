"""WindowStorage: limits' moving windows kept in memory, trimmed on use and swept on demand,
with no thread of its own (limits' MemoryStorage walks every key 10 ms after each hit)."""

from __future__ import annotations

import threading
import time

from limits import parse
from limits.strategies import MovingWindowRateLimiter

from server.window_storage import WindowStorage


def test_a_window_holds_its_allowance_and_lets_entries_go_as_they_age() -> None:
    storage = WindowStorage()
    windows = MovingWindowRateLimiter(storage)
    item = parse("3/second")
    assert [windows.hit(item, "k") for _ in range(4)] == [True, True, True, False]
    reset_at, remaining = windows.get_window_stats(item, "k")
    assert remaining == 0 and time.time() < reset_at <= time.time() + 1
    assert windows.hit(item, "other")  # keys are apart
    time.sleep(1.05)
    assert windows.get_window_stats(item, "k").remaining == 3
    assert windows.hit(item, "k")
    windows.clear(item, "k")
    assert windows.get_window_stats(item, "k").remaining == 3


def test_sweep_forgets_emptied_windows_and_no_thread_is_started() -> None:
    threads_before = threading.active_count()
    storage = WindowStorage()
    windows = MovingWindowRateLimiter(storage)
    short, long = parse("5/second"), parse("5/hour")
    for n in range(1000):
        windows.hit(short, str(n))
    windows.hit(long, "kept")
    assert len(storage) == 1001
    assert threading.active_count() == threads_before
    time.sleep(1.05)
    assert storage.sweep() == 1
    assert windows.get_window_stats(long, "kept").remaining == 4
