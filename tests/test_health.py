"""/healthz on a real endpoint: ok only when the control loop runs a posted probe in time and the
database is up; what it answers when either is not."""

from __future__ import annotations

import threading

import requests

from reactor.event_loop_thread import EventLoopThread
from server.web.health import HealthCheck
from tests.http_support import running_endpoint


class Control:
    """A control loop of its own, apart from the endpoint's: it can be frozen while HTTP still serves."""

    def __enter__(self):
        self.thread = EventLoopThread("control-test")
        self.loop = self.thread.start_loop()
        return self

    def __exit__(self, *exc_info):
        self.thread.stop()


def healthz(port: int, method: str = "GET") -> requests.Response:
    return requests.request(method, f"http://127.0.0.1:{port}/healthz", timeout=10)


def test_ok_with_a_live_control_loop_and_database():
    with Control() as control, running_endpoint(
            lambda e: e.route("/healthz", HealthCheck(control.loop, lambda: True))) as endpoint:
        answer = healthz(endpoint.port)
        head = healthz(endpoint.port, "HEAD")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "up"}
    assert answer.headers["cache-control"] == "no-store"
    assert head.status_code == 200 and head.content == b""


def test_unavailable_when_the_database_is_down():
    with Control() as control, running_endpoint(
            lambda e: e.route("/healthz", HealthCheck(control.loop, lambda: False))) as endpoint:
        answer = healthz(endpoint.port)
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "down"}


def test_unavailable_while_the_control_loop_is_frozen_and_ok_again_after():
    released = threading.Event()
    with Control() as control, running_endpoint(
            lambda e: e.route("/healthz", HealthCheck(control.loop, lambda: True, timeout=0.3))) as endpoint:
        control.loop.queue_in_loop(lambda: released.wait(10))  # a job that blocks the control loop
        frozen = healthz(endpoint.port)
        released.set()
        recovered = healthz(endpoint.port)  # its probe runs after the late one of the frozen check
        assert endpoint.server.loop.callback_errors == 0  # the late probe found its check answered
    assert frozen.status_code == 503
    assert frozen.json() == {"status": "unavailable", "database": "up"}
    assert recovered.status_code == 200 and recovered.json()["status"] == "ok"
