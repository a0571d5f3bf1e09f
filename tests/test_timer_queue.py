"""TimerQueue: due-time order, lazy cancellation, repeats."""

import time

from reactor.timer import Timer
from reactor.timer_queue import TimerQueue


def test_expired_timers_fire_in_due_order_and_ties_in_insertion_order():
    queue = TimerQueue()
    fired = []
    now = time.monotonic() - 1
    for label, when in [("c", now + 0.3), ("a", now + 0.1), ("b1", now + 0.2), ("b2", now + 0.2)]:
        queue.add(Timer(lambda label=label: fired.append(label), when))
    queue.run_expired()
    assert fired == ["a", "b1", "b2", "c"]
    assert len(queue) == 0


def test_future_timer_does_not_fire_and_sets_the_timeout():
    queue = TimerQueue()
    fired = []
    now = time.monotonic()
    queue.add(Timer(lambda: fired.append(1), now + 5))
    queue.run_expired()
    assert fired == []
    assert 4.9 < queue.next_timeout(now) <= 5.0


def test_cancelled_timer_never_fires_and_is_not_counted():
    queue = TimerQueue()
    fired = []
    timer = queue_timer = Timer(lambda: fired.append("x"), time.monotonic() - 1)
    queue.add(queue_timer)
    queue.cancel(timer)
    assert len(queue) == 0
    queue.run_expired()
    assert fired == []
    assert queue.next_timeout(time.monotonic()) is None


def test_a_timer_cancelled_by_an_earlier_one_in_the_same_batch_does_not_fire():
    queue = TimerQueue()
    fired = []
    past = time.monotonic() - 1
    second = Timer(lambda: fired.append("second"), past + 0.5)
    first = Timer(lambda: (fired.append("first"), queue.cancel(second)), past)
    queue.add(first)
    queue.add(second)
    queue.run_expired()
    assert fired == ["first"]


def test_repeating_timer_is_put_back_and_stops_when_cancelled():
    queue = TimerQueue()
    fired = []
    timer = Timer(lambda: fired.append(1), time.monotonic() - 1, interval=0.01)
    queue.add(timer)
    queue.run_expired()
    assert fired == [1] and len(queue) == 1
    queue.cancel(timer)
    time.sleep(0.02)
    queue.run_expired()
    assert fired == [1] and len(queue) == 0


def test_mass_cancellation_compacts_the_heap():
    queue = TimerQueue()
    far = time.monotonic() + 100
    timers = [Timer(lambda: None, far + i) for i in range(10_000)]
    for timer in timers:
        queue.add(timer)
    for timer in timers[:9_000]:
        queue.cancel(timer)
    assert len(queue) == 1_000
    # Cancelled entries are dropped once they outnumber the live ones.
    assert len(queue._heap) < 2_500


def test_cancel_after_firing_does_not_corrupt_the_count():
    queue = TimerQueue()
    timer = Timer(lambda: None, time.monotonic() - 1)
    queue.add(timer)
    queue.run_expired()
    queue.cancel(timer)
    assert len(queue) == 0
    queue.add(Timer(lambda: None, time.monotonic() + 10))
    assert len(queue) == 1


def test_a_failing_callback_is_counted_and_the_rest_of_the_batch_still_fires():
    queue = TimerQueue()
    fired = []
    past = time.monotonic() - 1

    def fail():
        fired.append("fail")
        raise RuntimeError("timer bug")

    repeating = Timer(fail, past, interval=0.01)
    queue.add(repeating)
    queue.add(Timer(lambda: fired.append("next"), past + 0.1))
    queue.run_expired()
    assert fired == ["fail", "next"]
    assert queue.failed_callbacks == 1
    assert len(queue) == 1  # the repeating one is scheduled again
    time.sleep(0.02)
    queue.run_expired()
    assert fired == ["fail", "next", "fail"] and queue.failed_callbacks == 2
