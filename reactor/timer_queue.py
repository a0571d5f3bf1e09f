"""The loop's timers: a heap ordered by due time, with lazy cancellation."""

from __future__ import annotations

import heapq
import logging
import time

from reactor.timer import Timer

log = logging.getLogger(__name__)


class TimerQueue:
    """Owned by one EventLoop and touched only on its thread."""

    # Cancelled timers stay in the heap until they reach the top; once they
    # outnumber the live ones (and there are enough to matter) the heap is
    # rebuilt, so that cancel-heavy code cannot grow it without bound.
    _COMPACT_MIN = 64

    def __init__(self) -> None:
        self._heap: list[Timer] = []
        self._cancelled_in_heap = 0
        self.failed_callbacks = 0

    def __len__(self) -> int:
        """Live (not cancelled) timers waiting to fire."""
        return len(self._heap) - self._cancelled_in_heap

    def add(self, timer: Timer) -> None:
        if timer.cancelled:
            return
        timer.queued = True
        heapq.heappush(self._heap, timer)

    def cancel(self, timer: Timer) -> None:
        if timer.cancelled:
            return
        timer.cancelled = True
        if not timer.queued:
            return
        self._cancelled_in_heap += 1
        heap = self._heap
        if self._cancelled_in_heap > self._COMPACT_MIN and self._cancelled_in_heap * 2 > len(heap):
            for t in heap:
                if t.cancelled:
                    t.queued = False
            self._heap = [t for t in heap if not t.cancelled]
            heapq.heapify(self._heap)
            self._cancelled_in_heap = 0

    def next_timeout(self, now: float) -> float | None:
        """Seconds until the earliest live timer, or None when there is none."""
        heap = self._heap
        while heap and heap[0].cancelled:
            self._pop()
        if not heap:
            return None
        return max(0.0, heap[0].when - now)

    def run_expired(self) -> None:
        """Fire every timer that is due; repeating ones are put back."""
        heap = self._heap
        if not heap:
            return
        now = time.monotonic()
        due: list[Timer] = []
        while heap and heap[0].when <= now:
            timer = self._pop()
            if not timer.cancelled:
                due.append(timer)
        for timer in due:
            # A callback earlier in this batch may have cancelled this one.
            if timer.cancelled:
                continue
            try:
                timer.callback()
            except Exception:
                # Logged and counted; the later timers of this batch still fire,
                # and a repeating timer stays scheduled.
                self.failed_callbacks += 1
                log.exception("timer callback %r failed", timer.callback)
            if timer.repeats and not timer.cancelled:
                timer.restart(now)
                self.add(timer)

    def _pop(self) -> Timer:
        timer = heapq.heappop(self._heap)
        timer.queued = False
        if timer.cancelled:
            self._cancelled_in_heap -= 1
        return timer
