"""EventLoop: thread rules, cross-thread posting, timers, quitting, idleness."""

import logging
import os
import queue
import random
import threading
import time

import pytest

from reactor.event_loop import EventLoop, WrongThreadError
from reactor.event_loop_thread import EventLoopThread
from tests.conftest import call_in_loop, wait_until


def test_loop_thread_only_calls_raise_from_another_thread(loop_thread):
    with pytest.raises(WrongThreadError):
        loop_thread.assert_in_loop_thread()
    with pytest.raises(WrongThreadError):
        loop_thread.loop()
    with pytest.raises(WrongThreadError):
        _ = loop_thread.timer_count
    call_in_loop(loop_thread, loop_thread.assert_in_loop_thread)  # fine on its own thread


def test_a_thread_can_own_only_one_loop():
    errors = []

    def make_two():
        first = EventLoop()
        try:
            EventLoop()
        except RuntimeError as exc:
            errors.append(exc)
        finally:
            first.close()

    thread = threading.Thread(target=make_two)
    thread.start()
    thread.join()
    assert len(errors) == 1


def test_run_in_loop_on_the_loop_thread_runs_at_once(loop_thread):
    def outer():
        seen = []
        loop_thread.run_in_loop(lambda: seen.append("inner"))
        seen.append("after")
        return seen

    assert call_in_loop(loop_thread, outer) == ["inner", "after"]


def test_queue_in_loop_on_the_loop_thread_runs_later(loop_thread):
    def outer():
        seen = []
        loop_thread.queue_in_loop(lambda: seen.append("queued"))
        seen.append("now")
        return seen

    seen = call_in_loop(loop_thread, outer)
    assert wait_until(lambda: seen == ["now", "queued"], timeout=2)


def test_run_in_loop_from_eight_threads_loses_nothing(loop_thread):
    per_thread = 20_000
    received: dict[int, list[int]] = {i: [] for i in range(8)}
    wrong_thread = []
    loop_ident = call_in_loop(loop_thread, threading.get_ident)
    start = threading.Barrier(8)

    def record(producer: int, value: int) -> None:
        if threading.get_ident() != loop_ident:
            wrong_thread.append(value)
        received[producer].append(value)

    def produce(producer: int) -> None:
        start.wait()
        for value in range(per_thread):
            loop_thread.run_in_loop(lambda v=value: record(producer, v))

    producers = [threading.Thread(target=produce, args=(i,)) for i in range(8)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    assert wait_until(lambda: sum(map(len, received.values())) == 8 * per_thread, timeout=20)
    assert not wrong_thread
    # Each producer's calls also run in the order it posted them.
    assert all(values == list(range(per_thread)) for values in received.values())


def test_timers_fire_in_order_and_cancelled_ones_never_fire(loop_thread):
    fired = []
    delays = [0.05 * i for i in range(1, 11)]
    shuffled = random.Random(7).sample(delays, len(delays))
    timers = {d: loop_thread.run_after(d, lambda d=d: fired.append(d)) for d in shuffled}
    cancelled = {delays[2], delays[5], delays[9]}
    for d in cancelled:
        loop_thread.cancel(timers[d])
    assert wait_until(lambda: len(fired) == 7, timeout=3)
    time.sleep(0.1)  # the last cancelled one would have fired by now
    assert fired == [d for d in delays if d not in cancelled]


def test_run_at_uses_the_monotonic_clock(loop_thread):
    fired = threading.Event()
    loop_thread.run_at(time.monotonic() + 0.05, fired.set)
    assert fired.wait(2)


def test_run_every_repeats_until_cancelled(loop_thread):
    ticks = []
    timer = loop_thread.run_every(0.02, lambda: ticks.append(time.monotonic()))
    assert wait_until(lambda: len(ticks) >= 5, timeout=3)
    loop_thread.cancel(timer)
    time.sleep(0.05)
    count = len(ticks)
    time.sleep(0.1)
    assert len(ticks) == count
    with pytest.raises(ValueError):
        loop_thread.run_every(0, lambda: None)


def test_many_timers_each_fire_once_in_due_order(loop_thread):
    rng = random.Random(11)
    fired = []
    base = time.monotonic() + 0.1
    whens = [base + rng.random() * 0.4 for _ in range(20_000)]

    def schedule_all():
        timers = [loop_thread.run_at(w, lambda w=w: fired.append(w)) for w in whens]
        for timer in timers[::4]:
            loop_thread.cancel(timer)

    call_in_loop(loop_thread, schedule_all)
    expected = sorted(w for i, w in enumerate(whens) if i % 4)
    assert wait_until(lambda: len(fired) == len(expected), timeout=10)
    assert fired == expected
    assert call_in_loop(loop_thread, lambda: loop_thread.timer_count) == 0


def _run_loop_on_a_thread(before_loop=None):
    """A daemon thread that makes a loop, calls before_loop(loop), then runs it; the loop is handed back."""
    made: queue.Queue = queue.Queue()

    def run():
        loop = EventLoop("quitter")
        if before_loop is not None:
            before_loop(loop)
        made.put(loop)
        loop.loop()
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, made.get(timeout=10)


def test_quit_from_another_thread_stops_the_loop():
    thread, loop = _run_loop_on_a_thread()
    # Whether or not the loop has started to wait yet, quit must end it.
    loop.quit()
    thread.join(10)
    assert not thread.is_alive()


def test_quit_from_another_thread_wakes_a_loop_blocked_in_select():
    thread, loop = _run_loop_on_a_thread()
    blocked = threading.Event()
    loop.queue_in_loop(blocked.set)
    assert blocked.wait(10)
    time.sleep(0.2)  # nothing to do and no timers: it waits in select() with no timeout
    assert thread.is_alive()
    loop.quit()
    thread.join(10)
    assert not thread.is_alive()


def test_a_quit_asked_before_the_loop_runs_is_not_lost_and_the_loop_can_run_again():
    rounds = []

    def run():
        loop = EventLoop("early-quit")
        try:
            loop.quit()  # e.g. SIGTERM during start-up
            loop.loop()  # returns after its first round instead of waiting forever
            rounds.append("first")
            fired = []
            loop.run_after(0.05, lambda: (fired.append(True), loop.quit()))
            loop.loop()  # the flag was reset: this one runs until the timer quits it
            rounds.append(fired)
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert rounds == ["first", [True]]


def test_an_idle_loop_sleeps_instead_of_spinning(loop_thread):
    before = loop_thread.iterations
    time.sleep(1.0)
    assert loop_thread.iterations - before <= 2


def test_a_failing_callable_is_logged_counted_and_the_next_ones_still_run(loop_thread, caplog):
    ran = []
    gate = threading.Event()
    loop_thread.queue_in_loop(lambda: gate.wait(5))  # so that the next three run in one batch
    loop_thread.queue_in_loop(lambda: ran.append(1))
    loop_thread.queue_in_loop(lambda: 1 / 0)
    loop_thread.queue_in_loop(lambda: ran.append(2))
    gate.set()
    assert call_in_loop(loop_thread, lambda: "still alive") == "still alive"
    assert ran == [1, 2]
    assert loop_thread.callback_errors == 1
    assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)


def test_a_failing_timer_is_logged_counted_and_timers_go_on(loop_thread, caplog):
    caplog.set_level(logging.ERROR)
    fired = []
    ticks = []
    base = time.monotonic() + 0.05

    def tick():
        ticks.append(1)
        raise RuntimeError("tick failed")

    def schedule():
        # Same due time: the failing one fires between the other two in one batch.
        loop_thread.run_at(base, lambda: fired.append("before"))
        loop_thread.run_at(base, lambda: {}["missing"])
        loop_thread.run_at(base, lambda: fired.append("after"))
        loop_thread.run_at(base + 0.1, lambda: fired.append("later"))
        return loop_thread.run_every(0.02, tick)

    every = call_in_loop(loop_thread, schedule)
    assert wait_until(lambda: fired == ["before", "after", "later"] and len(ticks) >= 5, timeout=5)
    loop_thread.cancel(every)
    assert call_in_loop(loop_thread, lambda: "still alive") == "still alive"
    assert loop_thread.callback_errors == 1 + len(ticks)
    assert any("KeyError" in (r.exc_text or "") for r in caplog.records)
    assert any("tick failed" in (r.exc_text or "") for r in caplog.records)


def test_loop_thread_stop_runs_work_queued_before_it():
    thread = EventLoopThread("drain")
    loop = thread.start_loop()
    done = []
    for i in range(100):
        loop.queue_in_loop(lambda i=i: done.append(i))
    thread.stop()
    assert done == list(range(100))


def test_work_posted_to_a_closed_loop_never_writes_to_a_reused_fd_number():
    thread, loop = _run_loop_on_a_thread()
    wakeup_fd = loop._wakeup_fd
    read_end, write_end = os.pipe()  # before the loop's fd is free: other numbers than its
    os.set_blocking(read_end, False)
    loop.quit()
    thread.join(5)  # the loop has stopped and closed its wake-up fd
    os.dup2(write_end, wakeup_fd)  # the number, free again, now names someone else's pipe
    try:
        loop.queue_in_loop(lambda: None)
        loop.quit()
        with pytest.raises(BlockingIOError):
            os.read(read_end, 64)  # nothing was written into it
    finally:
        for fd in (read_end, write_end, wakeup_fd):
            os.close(fd)
