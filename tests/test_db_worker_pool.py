"""DbWorkerPool: database work runs off the I/O loop, and its outcome comes back on the loop's thread."""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reactor.event_loop import EventLoop
from server.circuit_breaker import CircuitBreaker
from server.db_worker_pool import DbWorkerPool, PoolBusy
from server.storage import NameTakenError, StorageError, StorageUnavailable, UserRecord
from server.storage.deadline import time_left
from server.storage.sqlite_storage import SqliteStorage
from tests.conftest import call_in_loop, wait_until


class Outcomes:
    """Collects on_done calls with the thread each ran on."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, BaseException | None, int]] = []
        self._lock = threading.Lock()

    def on_done(self, result: Any, error: BaseException | None) -> None:
        with self._lock:
            self.calls.append((result, error, threading.get_ident()))

    def wait_for(self, count: int) -> list[tuple[Any, BaseException | None, int]]:
        assert wait_until(lambda: len(self.calls) >= count), f"only {len(self.calls)} of {count} came back"
        return list(self.calls)


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "meeting.db")
    yield opened
    opened.close()


@pytest.fixture
def pool(storage: SqliteStorage) -> Iterator[DbWorkerPool]:
    workers = DbWorkerPool(storage, workers=2)
    yield workers
    workers.close()


def _register(storage: SqliteStorage, name: str) -> tuple[UserRecord, str]:
    return storage.create_user(name, "h", name), threading.current_thread().name


def test_result_comes_back_on_the_loop_thread_from_a_worker(
        loop_thread: EventLoop, pool: DbWorkerPool) -> None:
    outcomes = Outcomes()
    pool.submit(loop_thread, _register, ("alice",), outcomes.on_done)
    [((user, worker_name), error, thread_id)] = outcomes.wait_for(1)
    assert error is None
    assert user.username == "alice"
    assert thread_id == loop_thread.thread_id
    assert worker_name.startswith("db-") and worker_name != threading.current_thread().name


def test_storage_errors_come_back_as_they_are(loop_thread: EventLoop, pool: DbWorkerPool) -> None:
    outcomes = Outcomes()
    pool.submit(loop_thread, _register, ("alice",), outcomes.on_done)
    outcomes.wait_for(1)
    pool.submit(loop_thread, _register, ("alice",), outcomes.on_done)
    result, error, thread_id = outcomes.wait_for(2)[1]
    assert result is None
    assert isinstance(error, NameTakenError)
    assert thread_id == loop_thread.thread_id


def test_a_bug_in_a_job_is_logged_and_reported_as_storage_error(
        loop_thread: EventLoop, pool: DbWorkerPool, caplog: pytest.LogCaptureFixture) -> None:
    def broken(_storage: SqliteStorage, password: str) -> None:
        raise ZeroDivisionError("oops")

    outcomes = Outcomes()
    with caplog.at_level(logging.ERROR):
        pool.submit(loop_thread, broken, ("hunter2",), outcomes.on_done)
        [(result, error, thread_id)] = outcomes.wait_for(1)
    assert result is None and thread_id == loop_thread.thread_id
    assert isinstance(error, StorageError)
    assert isinstance(error.__cause__, ZeroDivisionError)
    assert "broken" in caplog.text and "ZeroDivisionError" in caplog.text  # with its traceback
    assert "hunter2" not in caplog.text


def test_password_in_a_partial_is_not_logged(
        loop_thread: EventLoop, pool: DbWorkerPool, caplog: pytest.LogCaptureFixture) -> None:
    def check(password: str, _storage: SqliteStorage) -> None:
        raise RuntimeError("bug")

    outcomes = Outcomes()
    with caplog.at_level(logging.ERROR):
        pool.submit(loop_thread, functools.partial(check, "hunter2"), (), outcomes.on_done)
        outcomes.wait_for(1)
    assert "RuntimeError" in caplog.text
    assert "hunter2" not in caplog.text


def test_a_password_argument_is_not_logged_when_the_callback_fails(
        loop_thread: EventLoop, pool: DbWorkerPool, caplog: pytest.LogCaptureFixture) -> None:
    answered = threading.Event()

    def on_done(_result: Any, _error: BaseException | None) -> None:
        answered.set()
        raise RuntimeError("a bug in the caller")

    with caplog.at_level(logging.ERROR):
        pool.submit(loop_thread, lambda _storage, password: len(password), ("hunter2",), on_done)
        assert answered.wait(5)
        assert wait_until(lambda: "a bug in the caller" in caplog.text, timeout=5)
    assert "hunter2" not in caplog.text


def test_loop_keeps_running_while_a_job_is_slow(loop_thread: EventLoop, pool: DbWorkerPool) -> None:
    release = threading.Event()
    outcomes = Outcomes()
    pool.submit(loop_thread, lambda _storage: release.wait(10), (), outcomes.on_done)
    started = time.monotonic()
    assert call_in_loop(loop_thread, lambda: "still answering") == "still answering"
    assert time.monotonic() - started < 1
    release.set()
    assert outcomes.wait_for(1)[0][0] is True


def test_one_slow_job_does_not_hold_up_the_other_worker(loop_thread: EventLoop, pool: DbWorkerPool) -> None:
    second_ran = threading.Event()
    outcomes = Outcomes()
    # The first job can only finish once the second one has run, on the other worker.
    pool.submit(loop_thread, lambda _storage: second_ran.wait(10), (), outcomes.on_done)
    pool.submit(loop_thread, lambda _storage: second_ran.set(), (), outcomes.on_done)
    results = [result for result, _, _ in outcomes.wait_for(2)]
    assert results == [None, True]


def test_close_finishes_queued_jobs_first(loop_thread: EventLoop, storage: SqliteStorage) -> None:
    before = set(threading.enumerate())
    pool = DbWorkerPool(storage, workers=1)
    workers = set(threading.enumerate()) - before
    assert [t.name for t in workers] == ["db-0"]
    gate = threading.Event()
    outcomes = Outcomes()
    pool.submit(loop_thread, lambda _storage: gate.wait(10), (), outcomes.on_done)
    for n in range(20):
        pool.submit(loop_thread, _register, (f"user{n}",), outcomes.on_done)
    closer = threading.Thread(target=pool.close)
    closer.start()
    time.sleep(0.05)
    assert closer.is_alive(), "close() must wait for the queued jobs"
    gate.set()
    closer.join(10)
    assert not closer.is_alive()
    calls = outcomes.wait_for(21)
    assert [result[0].username for result, _, _ in calls[1:]] == [f"user{n}" for n in range(20)]
    assert all(error is None for _, error, _ in calls)
    assert storage.get_user_by_name("user19") is not None
    assert not any(t.is_alive() for t in workers)


def test_submit_after_close_is_refused(loop_thread: EventLoop, storage: SqliteStorage) -> None:
    pool = DbWorkerPool(storage, workers=1)
    pool.close()
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(loop_thread, _register, ("late",), Outcomes().on_done)


def test_owners_take_turns_and_a_full_queue_refuses_at_once(
        loop_thread: EventLoop, storage: SqliteStorage) -> None:
    pool = DbWorkerPool(storage, workers=1, name="hash", max_queued=6, max_queued_per_owner=4)
    gate = threading.Event()
    outcomes = Outcomes()
    pool.submit(loop_thread, lambda _storage: gate.wait(10), (), outcomes.on_done, owner="flood")
    assert wait_until(lambda: len(pool._tasks) == 0)  # the worker holds the first job
    for n in range(6):  # four wait; the owner's share is full for the last two
        pool.submit(loop_thread, lambda _storage, n=n: f"flood-{n}", (), outcomes.on_done, owner="flood")
    pool.submit(loop_thread, lambda _storage: "person", (), outcomes.on_done, owner="person")
    refused = outcomes.wait_for(2)
    assert [type(error) for _, error, _ in refused] == [PoolBusy, PoolBusy]
    gate.set()
    results = [result for result, error, _ in outcomes.wait_for(8) if error is None]
    assert results == [True, "flood-0", "person", "flood-1", "flood-2", "flood-3"]
    pool.close()


# -- deadlines and the circuit breaker ------------------------------------------


def test_a_job_queued_past_its_deadline_is_answered_then_and_never_runs(
        loop_thread: EventLoop, storage: SqliteStorage) -> None:
    pool = DbWorkerPool(storage, workers=1)
    release = threading.Event()
    outcomes = Outcomes()
    pool.submit(loop_thread, lambda _storage: release.wait(10), (), outcomes.on_done)
    ran = threading.Event()
    started = time.monotonic()
    pool.submit(loop_thread, lambda _storage: ran.set(), (), outcomes.on_done, deadline=0.3)
    [(result, error, thread_id)] = outcomes.wait_for(1)
    waited = time.monotonic() - started
    assert isinstance(error, StorageUnavailable) and result is None
    assert thread_id == loop_thread.thread_id
    assert 0.25 < waited < 2, waited  # answered by its timer while the only worker is still busy
    release.set()
    pool.close()
    assert not ran.is_set(), "a job answered as failed must never run afterwards"
    assert len(outcomes.wait_for(2)) == 2


def test_a_running_job_knows_how_much_time_it_has_left(loop_thread: EventLoop, pool: DbWorkerPool) -> None:
    outcomes = Outcomes()
    pool.submit(loop_thread, lambda _storage: time_left(), (), outcomes.on_done, deadline=2.0)
    pool.submit(loop_thread, lambda _storage: time_left(), (), outcomes.on_done)
    (with_deadline, _, _), (without, _, _) = outcomes.wait_for(2)
    assert 1.0 < with_deadline <= 2.0
    assert without is None


def test_sqlite_waits_for_a_lock_no_longer_than_the_deadline(
        loop_thread: EventLoop, pool: DbWorkerPool, tmp_path: Path) -> None:
    locker = sqlite3.connect(tmp_path / "meeting.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        outcomes = Outcomes()
        started = time.monotonic()
        pool.submit(loop_thread, _register, ("alice",), outcomes.on_done, deadline=0.5)
        [(_, error, _)] = outcomes.wait_for(1)
        assert isinstance(error, StorageUnavailable)
        assert time.monotonic() - started < 1.5  # not the 5 s busy timeout
    finally:
        locker.execute("ROLLBACK")
        locker.close()


class Unavailable:
    """Jobs that fail as a dead database would, counting how often they were really called."""

    def __init__(self) -> None:
        self.calls = 0
        self.down = True

    def __call__(self, _storage: SqliteStorage) -> str:
        self.calls += 1
        if self.down:
            raise StorageUnavailable("connection refused")
        return "ok"


def test_after_a_few_failures_jobs_fail_at_once_then_one_probe_closes_it(
        loop_thread: EventLoop, storage: SqliteStorage, caplog: pytest.LogCaptureFixture) -> None:
    pool = DbWorkerPool(storage, workers=1, breaker=CircuitBreaker("the database", failures=3, cooldown=0.5))
    job = Unavailable()
    outcomes = Outcomes()
    with caplog.at_level(logging.INFO):
        for _ in range(10):
            pool.submit(loop_thread, job, (), outcomes.on_done)
        assert all(isinstance(error, StorageUnavailable) for _, error, _ in outcomes.wait_for(10))
        assert job.calls == 3, "after the third failure the database is left alone"
        pool.submit(loop_thread, job, (), outcomes.on_done)
        outcomes.wait_for(11)
        assert job.calls == 3  # refused at submit, without queueing
        job.down = False
        time.sleep(0.6)
        pool.submit(loop_thread, job, (), outcomes.on_done)
        assert outcomes.wait_for(12)[-1][:2] == ("ok", None)
        pool.submit(loop_thread, job, (), outcomes.on_done)
        assert outcomes.wait_for(13)[-1][:2] == ("ok", None)
    pool.close()
    assert job.calls == 5
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 2 and "unavailable" in said[0] and "available again" in said[1], said


def test_other_storage_errors_do_not_open_the_breaker(loop_thread: EventLoop, pool: DbWorkerPool) -> None:
    outcomes = Outcomes()
    pool.submit(loop_thread, _register, ("alice",), outcomes.on_done)
    for _ in range(5):
        pool.submit(loop_thread, _register, ("alice",), outcomes.on_done)
    calls = outcomes.wait_for(6)
    assert all(isinstance(error, NameTakenError) for _, error, _ in calls[1:])
    assert not pool.breaker.is_open
