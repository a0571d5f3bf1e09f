"""What a control connection's I/O loop and the control loop share about it (its `context`)."""

from __future__ import annotations

from protocol.framing import MAX_CONTROL_FRAME, MAX_FRAME_BEFORE_LOGIN


class ControlLink:
    """Each field is written by one thread only, so no lock is needed.

    `posted` counts requests the I/O loop handed to the control loop and
    `answered` those the control loop has replied to: their difference is
    what one client has under way, database jobs included, which is kept
    bounded by not reading from a client that is too far ahead (a pipeline of
    thousands of requests whose replies it never reads). `logged_in`
    (written by the control loop) raises the frame size limit.
    """

    __slots__ = ("answered", "logged_in", "posted", "reading_paused", "resume_wanted")

    # Requests of one client under way before its connection is no longer read; reading resumes
    # once no more than RESUME_AT are left. Deep enough for a burst of 40 pipelined registrations
    # (whose hashes must not hold up a chat line sent behind them); with the largest reply (a
    # profile with a 256 KiB avatar), 64 requests under way cost about 16 MiB of database results.
    MAX_WAITING = 64
    RESUME_AT = 16

    def __init__(self) -> None:
        self.posted = 0  # I/O loop
        self.reading_paused = False  # I/O loop
        self.answered = 0  # control loop
        self.resume_wanted = False  # control loop: the I/O loop paused, and waits to hear
        self.logged_in = False  # control loop

    @property
    def frame_limit(self) -> int:
        return MAX_CONTROL_FRAME if self.logged_in else MAX_FRAME_BEFORE_LOGIN

    @property
    def waiting(self) -> int:
        return self.posted - self.answered
