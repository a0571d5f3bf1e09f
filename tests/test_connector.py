"""Connector: retries with growing back-off until the server appears."""

import logging
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


def test_a_name_that_does_not_resolve_is_retried_like_a_refused_connection(loop_thread, caplog):
    caplog.set_level(logging.INFO)
    connected = []
    connector = Connector(loop_thread, ("no-such-host.invalid", 9))
    connector.INITIAL_RETRY_DELAY = connector.retry_delay = 0.05
    connector.new_connection_callback = connected.append
    connector.start()
    try:
        assert wait_until(lambda: connector.attempts >= 3, timeout=20)
        assert connector.retry_delay > connector.INITIAL_RETRY_DELAY  # backing off
        assert call_in_loop(loop_thread, lambda: "alive", timeout=5) == "alive"
        assert connected == []
        assert loop_thread.callback_errors == 0
        assert any("no-such-host.invalid" in r.getMessage() for r in caplog.records)
    finally:
        connector.stop()


def test_names_are_resolved_off_the_loop_thread_and_a_slow_lookup_does_not_block_it(
        loop_thread, monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    real_getaddrinfo = socket.getaddrinfo
    lookup_threads = []
    release = threading.Event()

    def slow_getaddrinfo(host, *args, **kwargs):
        if host == "meeting.example":
            lookup_threads.append(threading.get_ident())
            release.wait(10)
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_getaddrinfo)
    connected = []
    connector = Connector(loop_thread, ("meeting.example", port))
    connector.new_connection_callback = connected.append
    connector.start()
    try:
        assert wait_until(lambda: lookup_threads, timeout=5)
        # The lookup hangs, and the loop still answers at once.
        started = time.monotonic()
        assert call_in_loop(loop_thread, lambda: "alive", timeout=5) == "alive"
        assert time.monotonic() - started < 1.0
        release.set()
        assert wait_until(lambda: connected, timeout=5)
        assert connected[0].getpeername() == ("127.0.0.1", port)
        assert call_in_loop(loop_thread, threading.get_ident) not in lookup_threads
        connected[0].close()
    finally:
        release.set()
        connector.stop()
        listener.close()


def test_every_address_of_a_name_is_tried_before_backing_off(loop_thread, monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    closed_port = _free_port()

    def two_addresses(host, port_, *args, **kwargs):
        # The first address refuses; the second one listens.
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", closed_port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(socket, "getaddrinfo", two_addresses)
    connected = []
    connector = Connector(loop_thread, ("two.example", port))
    connector.INITIAL_RETRY_DELAY = connector.retry_delay = 5.0  # a back-off would fail the test
    connector.new_connection_callback = connected.append
    connector.start()
    try:
        assert wait_until(lambda: connected, timeout=3)
        assert connected[0].getpeername() == ("127.0.0.1", port)
        assert connector.attempts == 1
        connected[0].close()
    finally:
        connector.stop()
        listener.close()


def test_an_overdue_lookup_is_given_up_and_tried_again(loop_thread, monkeypatch):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    real_getaddrinfo = socket.getaddrinfo
    calls = []
    hang = threading.Event()

    def first_lookup_hangs(host, *args, **kwargs):
        if host != "slow.example":
            return real_getaddrinfo(host, *args, **kwargs)
        calls.append(host)
        if len(calls) == 1:
            hang.wait(10)  # its late answer must be ignored
        return real_getaddrinfo("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", first_lookup_hangs)
    connected = []
    connector = Connector(loop_thread, ("slow.example", port))
    connector.LOOKUP_TIMEOUT = 0.2
    connector.INITIAL_RETRY_DELAY = connector.retry_delay = 0.05
    connector.new_connection_callback = connected.append
    connector.start()
    try:
        assert wait_until(lambda: connected, timeout=5)
        assert len(calls) == 2 and connector.attempts == 2
        hang.set()
        time.sleep(0.2)
        assert len(connected) == 1  # the overdue answer started nothing
        connected[0].close()
    finally:
        hang.set()
        connector.stop()
        listener.close()


def test_waits_are_the_given_next_delay_when_there_is_one(loop_thread):
    waits = []

    def next_delay() -> float:
        waits.append(0.01 * (len(waits) + 1))
        return waits[-1]

    connector = Connector(loop_thread, ("127.0.0.1", _free_port()), next_delay)
    connector.start()
    assert wait_until(lambda: connector.attempts >= 4, timeout=3)
    connector.stop()
    assert waits[:3] == [0.01, 0.02, 0.03]  # one draw per back-off, in order
    assert connector.retry_delay == connector.INITIAL_RETRY_DELAY  # the doubling was not used


def test_a_restart_during_a_back_off_dials_once(loop_thread):
    port = _free_port()
    connected = []
    connector = Connector(loop_thread, ("127.0.0.1", port), lambda: 0.3)
    connector.new_connection_callback = connected.append
    connector.start()
    assert wait_until(lambda: connector.attempts >= 1, timeout=3)
    listener = socket.create_server(("127.0.0.1", port))
    try:
        call_in_loop(loop_thread, connector.restart)  # while the 0.3 s back-off is pending
        assert wait_until(lambda: connected, timeout=3)
        time.sleep(0.5)  # past the back-off: it must not dial a second connection
        assert len(connected) == 1 and connector.attempts == 2
        connected[0].close()
    finally:
        connector.stop()
        listener.close()
