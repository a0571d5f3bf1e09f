"""One database connection per thread: DB-API connections must not be shared by threads at once."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from server.storage.errors import StorageError


class _Connection(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Connection)


class ThreadConnections(Generic[C]):
    """Opens a connection for each thread on first use, and closes all of them from any thread."""

    def __init__(self, connect: Callable[[], C], description: str) -> None:
        self._connect = connect
        self._description = description
        self._local = threading.local()
        self._lock = threading.Lock()
        self._by_thread: dict[threading.Thread, C] = {}
        self._closed = False

    def get(self) -> C:
        """This thread's connection, opened now if it has none."""
        if self._closed:
            raise StorageError(f"{self._description} is closed")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            with self._lock:
                if self._closed:
                    conn.close()
                    raise StorageError(f"{self._description} is closed")
                self._by_thread[threading.current_thread()] = conn
                dead = [t for t in self._by_thread if not t.is_alive()]
                orphans = [self._by_thread.pop(t) for t in dead]
            # Threads that ended left their connections behind; close them here so they do not pile up.
            for orphan in orphans:
                _close_quietly(orphan)
            self._local.conn = conn
        return conn

    def discard(self) -> None:
        """Close this thread's connection (the server dropped it); the next get() opens a new one."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            self._by_thread.pop(threading.current_thread(), None)
        _close_quietly(conn)

    def close_all(self) -> None:
        """Close every thread's connection; later get() calls raise StorageError."""
        with self._lock:
            self._closed = True
            conns = list(self._by_thread.values())
            self._by_thread.clear()
        for conn in conns:
            _close_quietly(conn)


def _close_quietly(conn: _Connection) -> None:
    # A connection the server already dropped may fail to close; it is gone either way.
    with contextlib.suppress(Exception):
        conn.close()
