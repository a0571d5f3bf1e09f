"""One event loop per thread, muduo-style, on selectors.EpollSelector."""

from __future__ import annotations

import logging
import os
import selectors
import threading
import time
from collections.abc import Callable

from reactor.channel import Channel
from reactor.timer import Timer
from reactor.timer_queue import TimerQueue

log = logging.getLogger(__name__)

_loop_of_thread = threading.local()


class WrongThreadError(RuntimeError):
    """A loop-thread-only method was called from another thread."""


class EventLoop:
    """Waits for I/O and timers, and runs callables posted from any thread.

    A loop belongs to the thread that created it, and that thread alone may
    touch its channels, timers and connections; other threads reach it
    through `run_in_loop` and `queue_in_loop`.
    """

    def __init__(self, name: str = "") -> None:
        if getattr(_loop_of_thread, "loop", None) is not None:
            raise RuntimeError(f"thread {threading.current_thread().name} already has an EventLoop")
        self.name = name or threading.current_thread().name
        # The owning thread; read-only after construction.
        self.thread_id = threading.get_ident()
        self._selector = selectors.EpollSelector()
        self._timers = TimerQueue()
        self._pending: list[Callable[[], None]] = []
        self._pending_lock = threading.Lock()
        self._looping = False
        self._quit = False
        self._closed = False
        # Orders wake-ups against close(): once the fd is closed its number may name another file.
        self._wakeup_lock = threading.Lock()
        self.iterations = 0
        # Event handlers and posted callables that raised (timers count in TimerQueue).
        self._failed_callbacks = 0
        self._wakeup_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._wakeup_channel = Channel(self, self._wakeup_fd)
        self._wakeup_channel.on_read = self._drain_wakeup
        self._wakeup_channel.enable_reading()
        _loop_of_thread.loop = self

    # -- thread rules -----------------------------------------------------

    def is_in_loop_thread(self) -> bool:
        return threading.get_ident() == self.thread_id

    def assert_in_loop_thread(self) -> None:
        if threading.get_ident() != self.thread_id:
            raise WrongThreadError(
                f"EventLoop {self.name!r} belongs to thread {self.thread_id}, "
                f"called from {threading.current_thread().name} ({threading.get_ident()})"
            )

    # -- running ----------------------------------------------------------

    def loop(self) -> None:
        """Run until `quit`; must be called on the thread that made the loop.

        A `quit` asked before the loop runs is kept: the loop returns after
        its first round. The request is spent when the loop returns.
        """
        self.assert_in_loop_thread()
        if self._looping:
            raise RuntimeError("EventLoop.loop() is already running")
        self._looping = True
        select = self._selector.select
        timers = self._timers
        try:
            while True:
                timeout = 0.0 if self._pending else timers.next_timeout(time.monotonic())
                self.iterations += 1
                for key, mask in select(timeout):
                    try:
                        key.data(mask)  # the channel's bound handle_event
                    except Exception:
                        self._event_handler_failed(key.data.__self__)
                timers.run_expired()
                if self._pending:
                    self._run_pending()
                if self._quit:
                    break
        finally:
            self._looping = False
            self._quit = False

    def _event_handler_failed(self, channel: Channel) -> None:
        """Called in the except block: counted, then the channel's owner logs it and
        closes what failed (a connection), as asyncio's `_fatal_error` does."""
        self._failed_callbacks += 1
        if channel.on_error is None:
            log.exception("loop %s: event handler of %r failed; going on", self.name, channel.fileobj)
            return
        try:
            channel.on_error()
        except Exception:
            log.exception("loop %s: the error handler of %r failed too", self.name, channel.fileobj)

    @property
    def callback_errors(self) -> int:
        """Exceptions caught from event handlers, timers and posted callables;
        readable from any thread (for a stats line)."""
        return self._failed_callbacks + self._timers.failed_callbacks

    def quit(self) -> None:
        """Ask the loop to stop after its current round; safe from any thread.

        Always wakes the loop: a signal handler runs on the loop's own thread
        while select() is blocked, and PEP 475 would otherwise resume the wait.
        """
        self._quit = True
        self._wakeup()

    def close(self) -> None:
        """Release the selector and wake-up fd once the loop has stopped."""
        self.assert_in_loop_thread()
        if self._closed:
            return
        self._wakeup_channel.disable_all()
        self._selector.close()
        with self._wakeup_lock:
            self._closed = True
            os.close(self._wakeup_fd)
        if getattr(_loop_of_thread, "loop", None) is self:
            _loop_of_thread.loop = None

    # -- posting work -----------------------------------------------------

    def run_in_loop(self, fn: Callable[[], None]) -> None:
        """Run fn now if called on the loop thread, else queue it."""
        if threading.get_ident() == self.thread_id:
            fn()
        else:
            self.queue_in_loop(fn)

    def queue_in_loop(self, fn: Callable[[], None]) -> None:
        """Run fn on the loop thread after the current round of events."""
        with self._pending_lock:
            was_empty = not self._pending
            self._pending.append(fn)
        # One wake-up per batch: when the list was non-empty, a wake-up for it
        # is already on its way. The loop thread itself needs none, since it
        # looks at the list before it next blocks.
        if was_empty and threading.get_ident() != self.thread_id:
            self._wakeup()

    def _run_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, []
        for fn in pending:
            try:
                fn()
            except Exception:
                self._failed_callbacks += 1
                log.exception("pending callable %r failed on loop %s", fn, self.name)

    def _wakeup(self) -> None:
        with self._wakeup_lock:
            if self._closed:
                return  # nobody to wake; work posted now is never run
            try:
                os.eventfd_write(self._wakeup_fd, 1)
            except BlockingIOError:
                pass  # the counter is saturated: the loop is certainly awake

    def _drain_wakeup(self) -> None:
        try:
            os.eventfd_read(self._wakeup_fd)
        except BlockingIOError:
            pass

    # -- timers -----------------------------------------------------------

    def run_at(self, when: float, callback: Callable[[], None]) -> Timer:
        """Call back at `when` on the time.monotonic() clock."""
        return self._add_timer(Timer(callback, when))

    def run_after(self, delay: float, callback: Callable[[], None]) -> Timer:
        return self._add_timer(Timer(callback, time.monotonic() + delay))

    def run_every(self, interval: float, callback: Callable[[], None]) -> Timer:
        if interval <= 0:
            raise ValueError("run_every needs a positive interval")
        return self._add_timer(Timer(callback, time.monotonic() + interval, interval))

    def cancel(self, timer: Timer) -> None:
        """Cancel a timer; from another thread it may still fire once meanwhile."""
        self.run_in_loop(lambda: self._timers.cancel(timer))

    def _add_timer(self, timer: Timer) -> Timer:
        self.run_in_loop(lambda: self._timers.add(timer))
        return timer

    @property
    def timer_count(self) -> int:
        self.assert_in_loop_thread()
        return len(self._timers)

    # -- channels ---------------------------------------------------------

    def update_channel(self, channel: Channel) -> None:
        """Bring the selector in line with the channel's interest."""
        self.assert_in_loop_thread()
        if channel.interest:
            if channel.registered:
                self._selector.modify(channel.fileobj, channel.interest, channel.handle_event)
            else:
                self._selector.register(channel.fileobj, channel.interest, channel.handle_event)
                channel.registered = True
        elif channel.registered:
            self._selector.unregister(channel.fileobj)
            channel.registered = False

    @property
    def channel_count(self) -> int:
        """Registered fds, the wake-up fd included."""
        self.assert_in_loop_thread()
        return len(self._selector.get_map())

    def __repr__(self) -> str:
        return f"<EventLoop {self.name}>"
