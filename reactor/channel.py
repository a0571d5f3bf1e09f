"""A file descriptor's interest set and event handlers, owned by one loop."""

from __future__ import annotations

from collections.abc import Callable
from selectors import EVENT_READ, EVENT_WRITE
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reactor.event_loop import EventLoop


def _ignore() -> None:
    pass


class Channel:
    """Dispatches ready events for one fd; never owns or closes the fd.

    An fd whose interest becomes empty is unregistered rather than kept in
    epoll with no events: epoll still reports EPOLLHUP for it, and a peer
    that hangs up would then make every select() return at once forever.
    """

    __slots__ = ("fileobj", "interest", "loop", "on_error", "on_read", "on_write", "registered")

    def __init__(self, loop: EventLoop, fileobj) -> None:
        self.loop = loop
        self.fileobj = fileobj
        self.interest = 0
        self.registered = False
        self.on_read: Callable[[], None] = _ignore
        self.on_write: Callable[[], None] = _ignore
        # Called by the loop, inside its except block, when on_read or on_write
        # raised: a connection logs and closes itself. None: the loop logs it,
        # and the fd is served on (an acceptor, the wake-up fd).
        self.on_error: Callable[[], None] | None = None

    @property
    def is_reading(self) -> bool:
        return bool(self.interest & EVENT_READ)

    @property
    def is_writing(self) -> bool:
        return bool(self.interest & EVENT_WRITE)

    def enable_reading(self) -> None:
        self._set_interest(self.interest | EVENT_READ)

    def disable_reading(self) -> None:
        self._set_interest(self.interest & ~EVENT_READ)

    def enable_writing(self) -> None:
        self._set_interest(self.interest | EVENT_WRITE)

    def disable_writing(self) -> None:
        self._set_interest(self.interest & ~EVENT_WRITE)

    def disable_all(self) -> None:
        self._set_interest(0)

    def handle_event(self, mask: int) -> None:
        # Hang-ups and errors arrive as readable (and writable): the read
        # handler then sees EOF or the socket error and closes. Interest is
        # checked again because an earlier handler in the same round may have
        # changed it (or closed this channel).
        if mask & EVENT_READ and self.interest & EVENT_READ:
            self.on_read()
        if mask & EVENT_WRITE and self.interest & EVENT_WRITE:
            self.on_write()

    def _set_interest(self, interest: int) -> None:
        if interest != self.interest:
            self.interest = interest
            self.loop.update_channel(self)
