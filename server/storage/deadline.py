"""The deadline of the job running on this thread: storage starts no step it could not finish in time.

DbWorkerPool sets it around each job. A step (a connect, a statement, a lock wait) starts only if its
longest possible wait fits in the time left, so a job never runs past the moment its requester was
told it failed: what it did not start, it never does later.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from server.storage.errors import StorageUnavailable

_local = threading.local()


@contextlib.contextmanager
def job_deadline(at: float | None) -> Iterator[None]:
    """Run the block under a deadline on the time.monotonic() clock (None: no deadline)."""
    previous = getattr(_local, "at", None)
    _local.at = at
    try:
        yield
    finally:
        _local.at = previous


def time_left() -> float | None:
    """Seconds until this thread's job must be answered; None when it has no deadline."""
    at = getattr(_local, "at", None)
    return None if at is None else at - time.monotonic()


def ensure_time(needed: float, action: str) -> None:
    """Raise StorageUnavailable, before starting, when a step that may take `needed` seconds
    would end after the deadline."""
    left = time_left()
    if left is not None and left < needed:
        raise StorageUnavailable(f"no time left to {action} ({max(left, 0):.1f} s of the job's deadline "
                                 f"remain, {needed:g} s needed)")
