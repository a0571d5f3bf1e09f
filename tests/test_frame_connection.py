"""FrameConnection against a hand-driven socket: malformed replies, and dialling again as told."""

from __future__ import annotations

import itertools
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

import pytest

from protocol.framing import FrameKind
from protocol.messages import encode_message, reply
from qt_client.net.frame_connection import FrameConnection
from reactor.event_loop import EventLoop
from tests.conftest import call_in_loop, recv_exactly, wait_until


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(5.0)
        yield sock


def _read_request(sock: socket.socket) -> dict:
    length = struct.unpack("!I", recv_exactly(sock, 4))[0]
    body = recv_exactly(sock, length)
    assert body[0] == FrameKind.CONTROL
    return json.loads(body[1:])


def _address(listener: socket.socket) -> tuple[str, int]:
    return listener.getsockname()[:2]


def test_replies_with_malformed_ids_are_logged_and_ignored(loop_thread: EventLoop, listener: socket.socket,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    conn = FrameConnection(loop_thread, _address(listener), "control")
    conn.start()
    assert conn.wait_up(3.0)
    server_side, _ = listener.accept()
    try:
        request_id, future = conn.request("hello", {"version": 2})
        assert _read_request(server_side)["id"] == request_id
        for bad_id in ([request_id], {"id": request_id}, "1", None, True):
            server_side.sendall(encode_message({"type": "reply", "id": bad_id, "result": {}}))
        server_side.sendall(encode_message(reply(request_id, {"ok": True})))
        assert future.result(3.0) == {"ok": True}  # the connection lived through them all
        assert conn.connected
        assert call_in_loop(loop_thread, lambda: "loop alive") == "loop alive"
        assert caplog.text.count("reply with a malformed id") == 5
        assert "Traceback" not in caplog.text
    finally:
        server_side.close()
        conn.close()
        assert conn.wait_closed(2.0)


def test_hostile_json_from_the_server_is_dropped_and_the_connection_lives(
        loop_thread: EventLoop, listener: socket.socket, caplog: pytest.LogCaptureFixture) -> None:
    pushes: list[dict] = []
    conn = FrameConnection(loop_thread, _address(listener), "control")
    conn.on_push = pushes.append
    conn.start()
    assert conn.wait_up(3.0)
    server_side, _ = listener.accept()
    try:
        hostile = [b"[" * 100_000 + b"]" * 100_000, b'{"type":"chat","text":NaN}',
                   b'{"type":"chat","text":"\\ud800"}', '{"type":"chat","text":"x"}'.encode("utf-16"),
                   b'\xef\xbb\xbf{"type":"chat","text":"x"}']
        for payload in hostile:
            server_side.sendall(struct.pack("!IB", len(payload) + 1, FrameKind.CONTROL) + payload)
        server_side.sendall(encode_message({"type": "chat", "text": "fine"}))
        assert wait_until(lambda: pushes == [{"type": "chat", "text": "fine"}], 3.0), pushes
        assert conn.connected
        assert caplog.text.count("dropping a malformed frame") == len(hostile)
        assert "Traceback" not in caplog.text
    finally:
        server_side.close()
        conn.close()
        assert conn.wait_closed(2.0)


def test_frames_from_the_server_are_what_last_received_tells(loop_thread: EventLoop,
                                                             listener: socket.socket) -> None:
    conn = FrameConnection(loop_thread, _address(listener), "control")
    conn.start()
    assert conn.wait_up(3.0)
    server_side, _ = listener.accept()
    try:
        time.sleep(0.2)
        before = time.monotonic()
        assert conn.last_received < before
        server_side.sendall(encode_message({"type": "chat", "text": "hi"}))
        assert wait_until(lambda: conn.last_received >= before, 2.0)
    finally:
        server_side.close()
        conn.close()


class Waits:
    """A next_delay that records when it was asked."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.asked: list[float] = []
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.asked.append(time.monotonic())
        return self.delay

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.asked)


def test_a_dropped_connection_is_dialled_again_after_the_wait_given(loop_thread: EventLoop,
                                                                     listener: socket.socket) -> None:
    waits = Waits(0.3)
    conn = FrameConnection(loop_thread, _address(listener), "control", next_delay=waits)
    ups: list[float] = []
    conn.on_up = lambda: ups.append(time.monotonic())
    conn.start()
    first, _ = listener.accept()
    assert wait_until(lambda: len(ups) == 1, 2.0)
    first.close()  # the server drops us
    second, _ = listener.accept()
    try:
        assert wait_until(lambda: len(ups) == 2, 2.0)
        assert waits.count == 1
        assert 0.25 < ups[1] - waits.asked[0] < 1.5  # waited as told, then dialled at once
    finally:
        second.close()
        conn.close()
        assert conn.wait_closed(2.0)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])  # a name is looked up on every try
def test_refused_dials_wait_as_told_and_close_stops_them(loop_thread: EventLoop, host: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here
    waits = Waits(0.05)
    conn = FrameConnection(loop_thread, (host, port), "control", next_delay=waits)
    conn.start()
    assert wait_until(lambda: waits.count >= 5, 3.0)  # the reactor's own back-off would be 0.5 s, 1 s...
    gaps = [b - a for a, b in itertools.pairwise(waits.asked)]
    assert 0.04 < min(gaps[:4]) and max(gaps[:4]) < 0.4, gaps  # one wait drawn per try, each waited
    conn.close()
    assert conn.wait_closed(2.0)
    asked = waits.count
    time.sleep(0.3)
    assert waits.count == asked  # no dialling after close


def test_close_cancels_a_pending_redial(loop_thread: EventLoop, listener: socket.socket) -> None:
    waits = Waits(0.4)
    conn = FrameConnection(loop_thread, _address(listener), "control", next_delay=waits)
    conn.start()
    first, _ = listener.accept()
    assert conn.wait_up(2.0)
    first.close()
    assert wait_until(lambda: waits.count == 1, 2.0)
    conn.close()  # while waiting to dial again
    assert conn.wait_closed(2.0)
    listener.settimeout(0.8)
    with pytest.raises(TimeoutError):
        listener.accept()
