"""Shared fixtures: loops on their own threads, and a way to run code on them."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import resource
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reactor.event_loop import EventLoop
from reactor.event_loop_thread import EventLoopThread
from reactor.tcp_server import TcpServer

# Qt widgets in tests render offscreen, however pytest is started (this machine has no display).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


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


def free_base_port() -> int:
    """A port whose next three are free too: control, audio, video and HTTP of one server."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + 3 > 65535:
            continue
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base, base + 4):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError("no three consecutive free ports")


def connection_count(server: TcpServer) -> int:
    return call_in_loop(server.loop, lambda: len(server.connections))


@contextlib.contextmanager
def running_meeting_server(db_url: str, threads: int = 1, storage: Any = None, port: int = 0,
                           **settings: Any) -> Iterator[Any]:
    """A MeetingServer on 127.0.0.1, its control loop on a thread.

    With port 0 each of the three ports is a free one; a fixed base port (see
    `free_base_port`) lets a test stop the server and start it again in place.
    """
    from server.config import ServerConfig
    from server.meeting_server import MeetingServer
    from tests.tls_support import shared_identity

    if settings.get("tls", True) and "cert_file" not in settings:
        # TLS on, as in production, with the run's one test certificate.
        settings.update(cert_file=shared_identity().cert_file, key_file=shared_identity().key_file)
    config = ServerConfig(host="127.0.0.1", port=port, threads=threads, db_url=db_url,
                          stats_interval=0, **settings)
    base = EventLoopThread("control")
    loop = base.start_loop()

    def make() -> MeetingServer:
        server = MeetingServer(loop, config, storage)
        server.start()
        return server

    try:
        server = call_in_loop(loop, make)
    except BaseException:
        base.stop()
        raise
    try:
        yield server
    finally:
        call_in_loop(loop, server.stop)
        base.stop()


MYSQL_SKIP_REASON = "MariaDB not reachable at 127.0.0.1:3306: MySQL tests skipped"


@contextlib.contextmanager
def fresh_mysql_database() -> Iterator[str]:
    """A new, empty MariaDB database for one test (dropped after); skips without MariaDB."""
    import uuid

    import MySQLdb

    try:
        admin = MySQLdb.connect(host="127.0.0.1", port=3306, user="root", passwd="", connect_timeout=3)
    except MySQLdb.Error:
        pytest.skip(MYSQL_SKIP_REASON)
    name = f"mm_test_{uuid.uuid4().hex[:12]}"
    try:
        admin.cursor().execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        yield f"mysql://root@127.0.0.1:3306/{name}"
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()


@contextlib.contextmanager
def database_url(kind: str, tmp_path) -> Iterator[str]:
    if kind == "mysql":
        with fresh_mysql_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path}/meeting.db"


@pytest.fixture(params=[("sqlite", 1), ("sqlite", 4), ("mysql", 1)],
                ids=["sqlite-1-loop", "sqlite-4-loops", "mysql"])
def meeting_server(request, tmp_path) -> Iterator[Any]:
    """A running meeting server on a fresh database: SQLite with 1 and 4 I/O loops, and MariaDB."""
    kind, threads = request.param
    with database_url(kind, tmp_path) as url, running_meeting_server(url, threads=threads) as server:
        yield server


@pytest.fixture(params=[1, 4], ids=["1-loop", "4-loops"])
def sqlite_meeting_server(request, tmp_path) -> Iterator[Any]:
    """A running meeting server on a fresh SQLite file, with 1 and with 4 I/O loops."""
    with running_meeting_server(f"sqlite:///{tmp_path}/meeting.db", threads=request.param) as server:
        yield server


# Every Qt test fails on a cross-thread Qt warning (see qt_thread_guard.py).
from tests.qt_thread_guard import no_cross_thread_qt_warnings  # noqa: E402, F401
