"""Threads that run database calls and password hashing, so that I/O loops never block on them."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reactor.event_loop import EventLoop
from reactor.timer import Timer
from server.circuit_breaker import CircuitBreaker
from server.fair_queue import FairQueue
from server.storage.deadline import job_deadline
from server.storage.errors import StorageError, StorageUnavailable
from server.storage.storage import Storage

log = logging.getLogger(__name__)

Job = Callable[..., Any]
OnDone = Callable[[Any, BaseException | None], None]

# A task is answered exactly once: by its worker (it ran, or was refused when it came up), or by
# its deadline timer while it still waited in the queue.
_QUEUED, _RUNNING, _EXPIRED = "queued", "running", "expired"


@dataclass
class _Task:
    loop: EventLoop
    fn: Job
    # Never in a repr: a task's arguments may hold a password, and a failed callback logs its task.
    args: Sequence[Any] = field(repr=False)
    on_done: OnDone
    deadline: float | None  # on the time.monotonic() clock
    state: str = _QUEUED
    timer: Timer | None = None


class PoolBusy(StorageError):
    """Refused without queueing: the pool's queue, or the caller's share of it, is full."""


class DbWorkerPool:
    """Runs fn(storage, *args) on a worker thread and hands the outcome back to the caller's loop.

    A job given a deadline is answered by then: one that has not started is answered
    StorageUnavailable without ever running, and a running one starts no database step it could
    not finish in time (see server.storage.deadline). A circuit breaker refuses jobs at once while
    the database is down, so that they do not queue behind timeouts.

    Jobs wait in a FairQueue: each caller names an owner (e.g. a client's address), owners are
    served in turn, and with max_queued / max_queued_per_owner a full queue refuses at once
    (PoolBusy) instead of growing.

    The pool does not own the storage: whoever opened it closes it, after close() here.
    """

    def __init__(self, storage: Storage, workers: int = 2, name: str = "db",
                 breaker: CircuitBreaker | None = None, max_queued: int | None = None,
                 max_queued_per_owner: int | None = None) -> None:
        if workers < 1:
            raise ValueError(f"a DbWorkerPool needs at least one worker, not {workers}")
        self._storage = storage
        self.breaker = breaker or CircuitBreaker("the database")
        # Closing it lets the workers finish every job queued before close(), then stop.
        self._tasks: FairQueue[_Task] = FairQueue(max_queued, max_queued_per_owner)
        self._lock = threading.Lock()
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
                         for n in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, loop: EventLoop, fn: Job, args: Sequence[Any], on_done: OnDone,
               deadline: float | None = None, owner: Hashable = "") -> None:
        """Queue fn(storage, *args); on_done(result, error) later runs on loop's own thread.

        error is None on success, a StorageError otherwise (PoolBusy when the queue is full). With
        a deadline (seconds from now), on_done is called by then. Safe to call from any thread.
        """
        task = _Task(loop, fn, args, on_done, None if deadline is None else time.monotonic() + deadline)
        with self._lock:
            if self._closed:
                raise RuntimeError("DbWorkerPool is closed")
            if self.breaker.is_open:
                loop.queue_in_loop(functools.partial(on_done, None, StorageUnavailable(
                    "not tried: the database failed just before and is given a moment to recover")))
                return
            if deadline is not None:
                task.timer = loop.run_after(deadline, functools.partial(self._expire, task))
            if not self._tasks.put(owner, task):
                task.state = _EXPIRED  # answered here: a timer that fires anyway does nothing
                if task.timer is not None:
                    loop.cancel(task.timer)
                loop.queue_in_loop(functools.partial(on_done, None, PoolBusy(
                    "not queued: too many jobs are waiting already")))

    def close(self) -> None:
        """Stop the workers once every job already queued has run and reported."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._tasks.close()
        for thread in self._threads:
            # A job that closes the pool must not wait for its own thread.
            if thread is not threading.current_thread():
                thread.join()

    def _expire(self, task: _Task) -> None:
        """The deadline timer, on the task's loop: a job still queued is answered and never runs."""
        with self._lock:
            if task.state != _QUEUED:
                return
            task.state = _EXPIRED
        task.on_done(None, _too_late())

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            if self._start(task):
                result, error = self._run(task)
                self._post(task, functools.partial(self._finish, task, result, error))

    def _start(self, task: _Task) -> bool:
        """Claim a queued task; one whose deadline passed is answered here (its timer may be late)."""
        with self._lock:
            if task.state != _QUEUED:
                return False
            late = task.deadline is not None and time.monotonic() >= task.deadline
            task.state = _EXPIRED if late else _RUNNING
        if late:
            self._post(task, functools.partial(self._finish, task, None, _too_late()))
        return not late

    def _finish(self, task: _Task, result: Any, error: StorageError | None) -> None:
        if task.timer is not None:
            task.loop.cancel(task.timer)
        task.on_done(result, error)

    def _post(self, task: _Task, fn: Callable[[], None]) -> None:
        try:
            task.loop.run_in_loop(fn)
        except Exception:
            log.exception("could not hand a database result back to loop %s", task.loop.name)

    def _run(self, task: _Task) -> tuple[Any, StorageError | None]:
        if not self.breaker.allow():
            return None, StorageUnavailable("not tried: the database failed just before and is given a "
                                            "moment to recover")
        result, error = self._call(task)
        if isinstance(error, StorageUnavailable):
            self.breaker.failed(error)
        else:
            self.breaker.succeeded()  # the database answered, even if the answer was "no"
        return result, error

    def _call(self, task: _Task) -> tuple[Any, StorageError | None]:
        try:
            with job_deadline(task.deadline):
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


def without_storage(fn: Callable[..., Any]) -> Job:
    """A pool job (called with the storage first) that runs fn on the other arguments only: a
    password hash, a call to a login provider."""
    def job(_storage: Any, *args: Any) -> Any:
        return fn(*args)

    job.__qualname__ = getattr(fn, "__qualname__", "job")  # the name the pool logs on a bug
    return job


def _too_late() -> StorageUnavailable:
    return StorageUnavailable("not run: it waited in the queue past its deadline")


def _job_name(fn: Job) -> str:
    return getattr(fn, "__qualname__", type(fn).__name__)
