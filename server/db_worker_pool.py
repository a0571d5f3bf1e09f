"""Threads that run database calls and password hashing, so that I/O loops never block on them."""

from __future__ import annotations

import functools
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reactor.event_loop import EventLoop
from server.storage.errors import StorageError
from server.storage.storage import Storage

log = logging.getLogger(__name__)

Job = Callable[..., Any]
OnDone = Callable[[Any, BaseException | None], None]


@dataclass(frozen=True)
class _Task:
    loop: EventLoop
    fn: Job
    args: Sequence[Any]
    on_done: OnDone


class DbWorkerPool:
    """Runs fn(storage, *args) on a worker thread and hands the outcome back to the caller's loop.

    The pool does not own the storage: whoever opened it closes it, after close() here.
    """

    def __init__(self, storage: Storage, workers: int = 2, name: str = "db") -> None:
        if workers < 1:
            raise ValueError(f"a DbWorkerPool needs at least one worker, not {workers}")
        self._storage = storage
        # None tells one worker to stop; it is queued behind every job submitted before close().
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, loop: EventLoop, fn: Job, args: Sequence[Any], on_done: OnDone) -> None:
        """Queue fn(storage, *args); on_done(result, error) later runs on loop's own thread.

        error is None on success, a StorageError otherwise. Safe to call from any thread.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("DbWorkerPool is closed")
            self._tasks.put(_Task(loop, fn, args, on_done))

    def close(self) -> None:
        """Stop the workers once every job already queued has run and reported."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for _ in self._threads:
                self._tasks.put(None)
        for thread in self._threads:
            # A job that closes the pool must not wait for its own thread.
            if thread is not threading.current_thread():
                thread.join()

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            result, error = self._run(task)
            try:
                task.loop.run_in_loop(functools.partial(task.on_done, result, error))
            except Exception:
                log.exception("could not hand a database result back to loop %s", task.loop.name)

    def _run(self, task: _Task) -> tuple[Any, StorageError | None]:
        try:
            return task.fn(self._storage, *task.args), None
        except StorageError as exc:
            return None, exc
        except Exception as exc:
            # A bug, not a database problem: keep the traceback for us, give the caller a StorageError.
            # Only the job's name is logged: its arguments (or a partial's repr) may hold a password.
            name = _job_name(task.fn)
            log.exception("database job %s failed", name)
            error = StorageError(f"internal error in database job {name}")
            error.__cause__ = exc
            return None, error


def _job_name(fn: Job) -> str:
    return getattr(fn, "__qualname__", type(fn).__name__)
