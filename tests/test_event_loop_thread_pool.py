"""EventLoopThreadPool: N loops round robin; N=0 means the base loop."""

import pytest

from reactor.event_loop_thread_pool import EventLoopThreadPool
from tests.conftest import call_in_loop


def test_round_robin_over_n_loops(loop_thread):
    def run():
        pool = EventLoopThreadPool(loop_thread, 3, "pool")
        pool.start()
        picks = [pool.get_next_loop() for _ in range(7)]
        loops = pool.all_loops()
        return pool, picks, loops

    pool, picks, loops = call_in_loop(loop_thread, run)
    try:
        assert len(set(loops)) == 3 and loop_thread not in loops
        assert picks == loops + loops + loops[:1]
        assert pool.get_loop_for_hash(4) is loops[1]
    finally:
        pool.stop()


def test_zero_threads_means_everything_on_the_base_loop(loop_thread):
    def run():
        pool = EventLoopThreadPool(loop_thread, 0)
        seen = []
        pool.start(init_callback=seen.append)
        return [pool.get_next_loop() for _ in range(3)], seen

    picks, initialised = call_in_loop(loop_thread, run)
    assert picks == [loop_thread] * 3
    assert initialised == [loop_thread]


def test_the_pool_belongs_to_the_base_loop_thread(loop_thread):
    pool = EventLoopThreadPool(loop_thread, 1)
    with pytest.raises(RuntimeError):
        pool.start()
    with pytest.raises(ValueError):
        EventLoopThreadPool(loop_thread, -1)
