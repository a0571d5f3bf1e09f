"""N EventLoopThreads handed out round robin; with N=0, the base loop alone."""

from __future__ import annotations

from collections.abc import Callable

from reactor.event_loop import EventLoop
from reactor.event_loop_thread import EventLoopThread


class EventLoopThreadPool:
    """Owned by a base loop (the acceptor's), and used on its thread only."""

    def __init__(self, base_loop: EventLoop, num_threads: int, name: str = "io") -> None:
        if num_threads < 0:
            raise ValueError("num_threads must be >= 0")
        self.base_loop = base_loop
        self.num_threads = num_threads
        self.name = name
        self._threads: list[EventLoopThread] = []
        self._loops: list[EventLoop] = []
        self._next = 0
        self.started = False

    def start(self, init_callback: Callable[[EventLoop], None] | None = None) -> None:
        self.base_loop.assert_in_loop_thread()
        if self.started:
            raise RuntimeError("EventLoopThreadPool already started")
        self.started = True
        for i in range(self.num_threads):
            thread = EventLoopThread(f"{self.name}-{i}", init_callback)
            self._threads.append(thread)
            self._loops.append(thread.start_loop())
        if self.num_threads == 0 and init_callback is not None:
            init_callback(self.base_loop)

    def get_next_loop(self) -> EventLoop:
        """The next loop, round robin (the base loop when there are no threads)."""
        self.base_loop.assert_in_loop_thread()
        if not self._loops:
            return self.base_loop
        loop = self._loops[self._next]
        self._next = (self._next + 1) % len(self._loops)
        return loop

    def get_loop_for_hash(self, value: int) -> EventLoop:
        """The same loop for the same value, so related work stays together."""
        if not self._loops:
            return self.base_loop
        return self._loops[value % len(self._loops)]

    def all_loops(self) -> list[EventLoop]:
        return list(self._loops) if self._loops else [self.base_loop]

    def stop(self) -> None:
        for thread in self._threads:
            thread.stop()
