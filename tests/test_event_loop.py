"""EventLoop: thread rules, cross-thread posting, timers, quitting, idleness."""

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


def test_quit_from_another_thread_stops_the_loop_promptly():
    holder = {}
    ready = threading.Event()

    def run():
        loop = EventLoop("quitter")
        holder["loop"] = loop
        ready.set()
        loop.loop()
        loop.close()

    thread = threading.Thread(target=run)
    thread.start()
    ready.wait()
    time.sleep(0.05)  # let it block in select() with nothing to do
    started = time.monotonic()
    holder["loop"].quit()
    thread.join(2)
    assert not thread.is_alive()
    assert time.monotonic() - started < 0.5


def test_an_idle_loop_sleeps_instead_of_spinning(loop_thread):
    before = loop_thread.iterations
    time.sleep(1.0)
    assert loop_thread.iterations - before <= 2


def test_a_failing_callable_is_logged_and_the_loop_goes_on(loop_thread, caplog):
    loop_thread.queue_in_loop(lambda: 1 / 0)
    assert call_in_loop(loop_thread, lambda: "still alive") == "still alive"
    assert any("ZeroDivisionError" in (r.exc_text or "") for r in caplog.records)


def test_loop_thread_stop_runs_work_queued_before_it():
    thread = EventLoopThread("drain")
    loop = thread.start_loop()
    done = []
    for i in range(100):
        loop.queue_in_loop(lambda i=i: done.append(i))
    thread.stop()
    assert done == list(range(100))
