"""Shared fixtures: loops on their own threads, and a way to run code on them."""

from __future__ import annotations

import concurrent.futures
import contextlib
import resource
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reactor.event_loop import EventLoop
from reactor.event_loop_thread import EventLoopThread
from reactor.tcp_server import TcpServer


def _raise_fd_limit() -> None:
    # Some tests hold a thousand connections (two fds each) in this process.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


_raise_fd_limit()


def call_in_loop(loop: EventLoop, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Run fn on the loop's thread and return its result (or raise its error)."""
    future: concurrent.futures.Future = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:
            future.set_exception(exc)

    loop.run_in_loop(run)
    return future.result(timeout)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.005) -> bool:
    """Poll predicate until it holds or the timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(min(1 << 20, n - len(chunks)))
        if not chunk:
            raise ConnectionError(f"EOF after {len(chunks)} of {n} bytes")
        chunks += chunk
    return bytes(chunks)


@pytest.fixture
def loop_thread() -> Iterator[EventLoop]:
    """A running EventLoop on its own thread, stopped after the test."""
    thread = EventLoopThread("test-loop")
    loop = thread.start_loop()
    yield loop
    thread.stop()


@contextlib.contextmanager
def running_server(threads: int = 0, configure: Callable[[TcpServer], None] | None = None,
                   ) -> Iterator[TcpServer]:
    """A TcpServer on 127.0.0.1 (free port) with its base loop on a thread."""
    base = EventLoopThread("base")
    loop = base.start_loop()

    def make() -> TcpServer:
        server = TcpServer(loop, "127.0.0.1", 0, "test", threads)
        if configure is not None:
            configure(server)
        server.start()
        return server

    server = call_in_loop(loop, make)
    try:
        yield server
    finally:
        call_in_loop(loop, server.stop)
        base.stop()


def connection_count(server: TcpServer) -> int:
    return call_in_loop(server.loop, lambda: len(server.connections))
