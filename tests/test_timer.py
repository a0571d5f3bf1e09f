"""Timer: ordering and restart of repeating timers."""

from reactor.timer import Timer


def test_timers_order_by_due_time_then_creation():
    early, late_a, late_b = Timer(print, 1.0), Timer(print, 2.0), Timer(print, 2.0)
    assert sorted([late_b, late_a, early]) == [early, late_a, late_b]


def test_restart_moves_to_next_interval_but_never_into_the_past():
    timer = Timer(print, 10.0, interval=1.0)
    assert timer.repeats
    timer.restart(now=10.5)
    assert timer.when == 11.0
    timer.restart(now=50.0)  # the loop was blocked for a long time
    assert timer.when == 50.0
    assert not Timer(print, 1.0).repeats
