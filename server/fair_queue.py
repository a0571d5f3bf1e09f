"""A blocking queue that serves its owners in turn, so that one owner's flood delays nobody else."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class FairQueue(Generic[T]):
    """FIFO per owner, round robin between owners, bounded in total and per owner.

    A worker's get() takes the next item of the owner whose turn it is: someone with one job waits
    behind at most one job of each other owner, however many those have queued. Thread safe.
    """

    def __init__(self, max_items: int | None = None, max_per_owner: int | None = None) -> None:
        self._max_items = max_items
        self._max_per_owner = max_per_owner
        self._by_owner: dict[Hashable, deque[T]] = {}
        self._turns: deque[Hashable] = deque()  # owners with items, next first
        self._count = 0
        self._closed = False
        self._ready = threading.Condition()

    def put(self, owner: Hashable, item: T) -> bool:
        """Queue item for owner; False (nothing queued) when the queue or the owner's share is full."""
        with self._ready:
            if self._closed:
                raise RuntimeError("FairQueue is closed")
            items = self._by_owner.get(owner)
            if self._max_items is not None and self._count >= self._max_items:
                return False
            if self._max_per_owner is not None and items is not None and len(items) >= self._max_per_owner:
                return False
            if items is None:
                items = self._by_owner[owner] = deque()
                self._turns.append(owner)
            items.append(item)
            self._count += 1
            self._ready.notify()
            return True

    def get(self) -> T | None:
        """The next item, waiting for one; None once closed and empty."""
        with self._ready:
            while not self._count:
                if self._closed:
                    return None
                self._ready.wait()
            owner = self._turns.popleft()
            items = self._by_owner[owner]
            item = items.popleft()
            self._count -= 1
            if items:
                self._turns.append(owner)
            else:
                del self._by_owner[owner]
            return item

    def close(self) -> None:
        """No more puts; get() hands out what is queued, then None to every waiting worker."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return self._count
