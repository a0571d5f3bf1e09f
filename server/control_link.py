"""What a control connection's I/O loop and the control loop share about it (its `context`)."""

from __future__ import annotations

from protocol.framing import MAX_CONTROL_FRAME, MAX_FRAME_BEFORE_LOGIN


class ControlLink:
    """Each field is written by one thread only, so no lock is needed.

    `posted` counts requests the I/O loop handed to the control loop and
    `handled` those the control loop has run: their difference is what one
    client has waiting, which the I/O loop keeps bounded by not reading from
    a client that is too far ahead (a pipeline of thousands of requests).
    `logged_in` (written by the control loop) raises the frame size limit.
    """

    __slots__ = ("handled", "logged_in", "posted", "reading_paused")

    # Requests of one client waiting for the control loop before its connection is no longer read;
    # reading resumes once the control loop has caught up with them.
    MAX_WAITING = 64

    def __init__(self) -> None:
        self.posted = 0  # I/O loop
        self.reading_paused = False  # I/O loop
        self.handled = 0  # control loop
        self.logged_in = False  # control loop

    @property
    def frame_limit(self) -> int:
        return MAX_CONTROL_FRAME if self.logged_in else MAX_FRAME_BEFORE_LOGIN

    @property
    def waiting(self) -> int:
        return self.posted - self.handled
