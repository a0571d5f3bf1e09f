"""A thread that owns and runs one EventLoop."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from reactor.event_loop import EventLoop

log = logging.getLogger(__name__)


class EventLoopThread:
    """Starts a thread, builds an EventLoop on it, and hands the loop back."""

    def __init__(self, name: str = "", init_callback: Callable[[EventLoop], None] | None = None) -> None:
        self.name = name
        self._init_callback = init_callback
        self._loop: EventLoop | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> EventLoop | None:
        return self._loop

    def start_loop(self) -> EventLoop:
        """Start the thread; return its loop once the loop exists."""
        if self._thread is not None:
            raise RuntimeError(f"EventLoopThread {self.name!r} already started")
        self._thread = threading.Thread(target=self._thread_main, name=self.name or None, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._loop is None:
            raise RuntimeError(f"EventLoopThread {self.name!r} failed to start its loop")
        return self._loop

    def stop(self, timeout: float | None = 10.0) -> None:
        """Quit the loop after the work already queued for it, and join."""
        if self._thread is None:
            return
        if self._loop is not None:
            self._loop.queue_in_loop(self._loop.quit)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("EventLoopThread %s did not stop within %ss", self.name, timeout)

    def _thread_main(self) -> None:
        try:
            loop = EventLoop(self.name)
            if self._init_callback is not None:
                self._init_callback(loop)
        except BaseException:
            log.exception("EventLoopThread %s: loop set-up failed", self.name)
            self._ready.set()
            raise
        self._loop = loop
        self._ready.set()
        try:
            loop.loop()
        finally:
            loop.close()
