"""/healthz: is the control plane alive (its loop runs posted work) and can it reach its database?"""

from __future__ import annotations

from collections.abc import Callable

from reactor.event_loop import EventLoop
from reactor.timer import Timer
from server.web.http_message import HttpRequest, HttpResponse, json_response

# A control loop that has not run a posted probe within this is as good as frozen to a load balancer.
PROBE_TIMEOUT = 2.0


class HealthCheck:
    """A route handler: 200 `{"status": "ok", ...}` once the control loop has run a probe posted to it,
    503 `{"status": "unavailable", ...}` when it has not within `timeout` or the database is down.
    A listening port proves little: the control loop may be stuck while the I/O loops still accept."""

    def __init__(self, control_loop: EventLoop, database_up: Callable[[], bool],
                 timeout: float = PROBE_TIMEOUT) -> None:
        self.control_loop = control_loop
        self.database_up = database_up
        self.timeout = timeout

    def __call__(self, request: HttpRequest, params: dict[str, str],
                 respond: Callable[[HttpResponse], None]) -> None:
        assert request.loop is not None, "the endpoint gives every request its loop"
        check = _PendingCheck(request.loop, respond, self.database_up)
        check.timer = request.loop.run_after(self.timeout, lambda: check.finish(control_alive=False))
        # Queued, never run in place: where I/O runs on the control loop, that would prove nothing.
        self.control_loop.queue_in_loop(check.probe)


class _PendingCheck:
    """One request's check; `finish` runs on the connection's loop only, and the first call wins."""

    def __init__(self, io_loop: EventLoop, respond: Callable[[HttpResponse], None],
                 database_up: Callable[[], bool]) -> None:
        self.io_loop = io_loop
        self.respond = respond
        self.database_up = database_up
        self.timer: Timer | None = None
        self.done = False

    def probe(self) -> None:
        """Runs on the control loop: it is alive. Back to the connection's loop with the news."""
        self.io_loop.run_in_loop(lambda: self.finish(control_alive=True))

    def finish(self, control_alive: bool) -> None:
        if self.done:
            return
        self.done = True
        if control_alive and self.timer is not None:
            self.io_loop.cancel(self.timer)
        database = self.database_up()
        ok = control_alive and database
        self.respond(json_response(200 if ok else 503, {"status": "ok" if ok else "unavailable",
                                                        "database": "up" if database else "down"}))
