"""Connector: retries with growing back-off until the server appears."""

import socket
import threading
import time

from reactor.connector import Connector
from tests.conftest import call_in_loop, wait_until


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_retries_with_back_off_then_connects_when_the_server_comes_up(loop_thread):
    port = _free_port()
    connected = []
    connector = Connector(loop_thread, ("127.0.0.1", port))
    connector.INITIAL_RETRY_DELAY = connector.retry_delay = 0.05
    connector.new_connection_callback = connected.append
    connector.start()
    # Nothing listens: 0.05 + 0.1 + 0.2 = 0.35 s covers three retries.
    assert wait_until(lambda: connector.attempts >= 4, timeout=3)
    assert connector.retry_delay >= 0.4  # doubled per failure
    assert connected == []

    listener = socket.create_server(("127.0.0.1", port))
    try:
        assert wait_until(lambda: connected, timeout=5)
        peer, _ = listener.accept()
        assert connected[0].getpeername() == ("127.0.0.1", port)
        assert connector.retry_delay == connector.INITIAL_RETRY_DELAY  # reset on success
        peer.close()
        connected[0].close()
    finally:
        listener.close()


def test_back_off_is_capped(loop_thread):
    connector = Connector(loop_thread, ("127.0.0.1", _free_port()))
    connector.INITIAL_RETRY_DELAY = connector.retry_delay = 0.01
    connector.MAX_RETRY_DELAY = 0.04
    connector.start()
    assert wait_until(lambda: connector.attempts >= 6, timeout=3)
    assert connector.retry_delay == 0.04
    connector.stop()


def test_stop_cancels_pending_retries(loop_thread):
    connector = Connector(loop_thread, ("127.0.0.1", _free_port()))
    connector.INITIAL_RETRY_DELAY = connector.retry_delay = 0.05
    connector.start()
    assert wait_until(lambda: connector.attempts >= 2, timeout=3)
    connector.stop()
    call_in_loop(loop_thread, lambda: None)
    attempts = connector.attempts
    time.sleep(0.4)
    assert connector.attempts == attempts


def test_callback_runs_on_the_loop_thread(loop_thread):
    listener = socket.create_server(("127.0.0.1", 0))
    threads = []
    connector = Connector(loop_thread, listener.getsockname())
    connector.new_connection_callback = lambda sock: (threads.append(threading.get_ident()), sock.close())
    connector.start()
    try:
        assert wait_until(lambda: threads, timeout=3)
        assert threads == [call_in_loop(loop_thread, threading.get_ident)]
    finally:
        listener.close()
