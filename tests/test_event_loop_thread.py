"""EventLoopThread: the loop is built and run on the new thread."""

import threading

from reactor.event_loop_thread import EventLoopThread
from tests.conftest import call_in_loop


def test_start_loop_returns_a_running_loop_on_another_thread():
    initialised = []
    thread = EventLoopThread("worker", init_callback=lambda loop: initialised.append(loop))
    loop = thread.start_loop()
    try:
        assert initialised == [loop]
        assert call_in_loop(loop, threading.current_thread).name == "worker"
        assert not loop.is_in_loop_thread()
    finally:
        thread.stop()
    assert not thread._thread.is_alive()


def test_stop_before_start_is_harmless():
    EventLoopThread("never").stop()
