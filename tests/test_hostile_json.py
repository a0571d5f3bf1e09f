"""Hostile JSON against a real server process: every case is a BAD_REQUEST with a plain message,
the reply is valid JSON, the connection stays usable, and the server logs no traceback.

A document refused as a whole is answered with "id": null: nothing in it can be trusted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol import PROTOCOL_VERSION, strict_json
from protocol.framing import FrameKind, encode_frame
from tests.raw_client import Participant, RawConnection
from tests.server_process import server_process

LONE = "\\ud800"  # a JSON escape for an unpaired surrogate, as a raw client writes it


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with server_process(tmp_path_factory.mktemp("hostile-json")) as process:
        yield process


def _strict_reply(conn: RawConnection, payload: bytes) -> dict[str, Any]:
    """Send one raw control payload; its answer (pushes skipped), which must itself be strict JSON."""
    conn.send_raw(encode_frame(FrameKind.CONTROL, payload))
    while True:
        kind, body = conn.read_frame()
        assert kind == FrameKind.CONTROL
        message = strict_json.loads(body)  # pushes too must be strict
        if message.get("type") == "reply":
            return message


def _assert_bad_request(answer: dict[str, Any], request_id: Any = None) -> None:
    assert answer["type"] == "reply" and answer["id"] == request_id, answer
    assert answer["error"]["code"] == "BAD_REQUEST", answer
    message = answer["error"]["message"]
    assert message and "Traceback" not in message and len(message) < 200, answer


def _hello(server: Any) -> RawConnection:
    conn = RawConnection(server.control_port)
    conn.ok("hello", version=PROTOCOL_VERSION)
    return conn


def test_json_nested_100000_deep_is_a_bad_request(server: Any) -> None:
    # Logged in: before login a control frame may hold 64 KiB only (its length alone closes the
    # connection), after it 512 KiB, which holds 100,000 arrays or 80,000 objects nested.
    conn = Participant(server, "deep-nester").control
    for deep in (b"[" * 100_000 + b"]" * 100_000,
                 b'{"type":"heartbeat","id":1,"x":' + b'{"a":' * 80_000 + b"1" + b"}" * 80_001):
        answer = _strict_reply(conn, deep)
        _assert_bad_request(answer)
        assert "nest" in answer["error"]["message"]
    # 32 levels are allowed: a field nested that deep is merely ignored.
    assert _strict_reply(conn, b'{"type":"heartbeat","id":2,"x":' + b"[" * 31 + b"]" * 31 + b"}")["result"]
    assert conn.ok("heartbeat")
    assert "Traceback" not in server.log()


def test_a_lone_surrogate_in_any_string_field_is_a_bad_request(server: Any) -> None:
    fresh = _hello(server)
    cases = [
        ("hello", {"version": PROTOCOL_VERSION, "client": LONE}),
        ("register", {"username": LONE, "password": "long-enough-pw"}),
        ("register", {"username": "surrogate1", "password": LONE + "long-enough"}),
        ("register", {"username": "surrogate2", "password": "long-enough-pw", "display_name": LONE}),
        ("login", {"username": LONE, "password": "long-enough-pw"}),
        ("login", {"username": "x", "password": LONE}),
    ]
    person = Participant(server, "surrogate-tester")
    person.control.ok("create_room", title="Surrogates")
    inside = [
        ("get_profile", {"username": LONE}),
        ("update_profile", {"display_name": LONE}),
        ("update_profile", {"signature": "ok " + LONE}),
        ("update_profile", {"avatar": LONE}),
        ("chat", {"text": "hi " + LONE}),
        ("request_keyframe", {"user_id": 1, "source": LONE}),
    ]
    for conn, requests in ((fresh, cases), (person.control, inside)):
        for n, (kind, fields) in enumerate(requests, start=100):
            raw = json.dumps({"type": kind, "id": n, **fields}).replace("\\\\ud800", LONE).encode()
            _assert_bad_request(_strict_reply(conn, raw))
    # A lone surrogate as a key, and a low one alone, are refused too; a proper pair is a character.
    _assert_bad_request(_strict_reply(fresh, b'{"type":"heartbeat","id":7,"\\udc00":1}'))
    paired = b'{"type":"update_profile","id":8,"signature":"pair\\ud83d\\ude00"}'
    reply = _strict_reply(person.control, paired)
    assert reply.get("result", {}).get("user", {}).get("signature") == "pair\U0001F600", reply
    media = RawConnection(person.audio.sock.getpeername()[1])
    hello = b'{"type":"media_hello","id":9,"token":"' + LONE.encode() + b'","stream":"audio"}'
    media.send_raw(encode_frame(FrameKind.CONTROL, hello))
    answer = strict_json.loads(media.read_frame()[1])
    _assert_bad_request(answer)
    assert person.control.ok("chat", text="still here")
    assert "Traceback" not in server.log()


def test_non_finite_numbers_are_refused_never_echoed(server: Any) -> None:
    conn = _hello(server)
    for n, number in enumerate((b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e400"), start=20):
        answer = _strict_reply(conn, b'{"type":"time_sync","id":%d,"client_time":%s}' % (n, number))
        _assert_bad_request(answer)
        assert "finite" in answer["error"]["message"]
    assert conn.ok("time_sync", client_time=1.5)["client_time"] == 1.5


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-8-sig"])
def test_only_utf8_without_bom_is_accepted(server: Any, encoding: str) -> None:
    conn = _hello(server)
    request = json.dumps({"type": "heartbeat", "id": 30})
    _assert_bad_request(_strict_reply(conn, request.encode(encoding)))
    assert _strict_reply(conn, request.encode("utf-8"))["id"] == 30


def test_request_ids_are_bounded_integers_or_short_strings(server: Any) -> None:
    conn = _hello(server)
    refused = ["true", "false", "1.5", "1e3", '{"a":1}', "[1]", str(2**53), str(-2**53), '"' + "x" * 65 + '"']
    for request_id in refused:
        answer = _strict_reply(conn, b'{"type":"heartbeat","id":%s}' % request_id.encode())
        _assert_bad_request(answer)  # answered with "id": null, never echoing what was sent
        assert "'id'" in answer["error"]["message"]
    for request_id in (0, 2**53 - 1, -(2**53 - 1), "abc-1", ""):
        answer = _strict_reply(conn, json.dumps({"type": "heartbeat", "id": request_id}).encode())
        assert answer["id"] == request_id and "result" in answer, answer
    # An unknown type with a bad id still says so, and still does not echo the id.
    answer = _strict_reply(conn, b'{"type":"nope","id":true}')
    assert answer["id"] is None and answer["error"]["code"] == "UNKNOWN_TYPE"
