"""Bad input: each gets its error or closes only that connection; others go on."""

import json
import logging
import random
import struct

from protocol import PROTOCOL_VERSION
from protocol.framing import FrameKind, encode_frame
from protocol.media import Codec, MediaHeader, MediaSource, StreamKind
from tests.raw_client import Participant, RawConnection


def _still_serving(server) -> None:
    """A new participant can still register, log in and create a room."""
    probe = Participant(server, f"probe{random.randrange(10**9)}")
    assert probe.control.ok("create_room")["room"]["room_id"]
    probe.close()


def _hello(server) -> RawConnection:
    conn = RawConnection(server.control_port)
    conn.ok("hello", version=PROTOCOL_VERSION)
    return conn


def test_random_bytes_close_that_connection_only(sqlite_meeting_server):
    bystander = Participant(sqlite_meeting_server, "bystander")
    rng = random.Random(1234)
    for port in (sqlite_meeting_server.control_port, sqlite_meeting_server.audio_port,
                 sqlite_meeting_server.video_port):
        conn = RawConnection(port)
        # A first length byte of 0xFF makes the declared length far over the maximum.
        conn.send_raw(b"\xff" + rng.randbytes(4096))
        assert conn.is_closed_by_server()
    assert bystander.control.ok("heartbeat")
    _still_serving(sqlite_meeting_server)


def test_oversize_zero_and_truncated_frames(sqlite_meeting_server):
    oversize = RawConnection(sqlite_meeting_server.control_port)
    oversize.send_raw(struct.pack("!I", 64 * 1024 * 1024) + b"{}")
    assert oversize.is_closed_by_server()
    empty = RawConnection(sqlite_meeting_server.control_port)
    empty.send_raw(struct.pack("!I", 0))
    assert empty.is_closed_by_server()
    truncated = RawConnection(sqlite_meeting_server.control_port)
    truncated.send_raw(encode_frame(FrameKind.CONTROL, b'{"type": "hello", "id": 1, "version": 1}')[:20])
    truncated.close()  # gone mid-frame
    wrong_kind = RawConnection(sqlite_meeting_server.control_port)
    wrong_kind.send_raw(encode_frame(FrameKind.MEDIA, b"media on the control port"))
    assert wrong_kind.is_closed_by_server()
    _still_serving(sqlite_meeting_server)


def test_malformed_requests_get_errors_and_the_connection_stays(sqlite_meeting_server):
    conn = _hello(sqlite_meeting_server)
    cases = [
        (b"this is not json", "BAD_REQUEST", None),
        (b"\xff\xfe not utf-8", "BAD_REQUEST", None),
        (b"[1, 2, 3]", "BAD_REQUEST", None),
        (json.dumps({"type": "login", "username": "x", "password": "y"}).encode(), "BAD_REQUEST", None),
        (json.dumps({"type": "fly_to_the_moon", "id": 5}).encode(), "UNKNOWN_TYPE", 5),
        (json.dumps({"type": "login", "id": 6, "username": 42, "password": "y"}).encode(), "BAD_REQUEST", 6),
        (json.dumps({"type": "login", "id": 7, "username": "x"}).encode(), "BAD_REQUEST", 7),
        (json.dumps({"type": "time_sync", "id": 8, "client_time": True}).encode(), "BAD_REQUEST", 8),
        (json.dumps({"type": "join_room", "id": 9, "room_id": ["a"]}).encode(), "BAD_REQUEST", 9),
        (json.dumps({"type": 3, "id": 10}).encode(), "BAD_REQUEST", 10),
    ]
    for payload, code, request_id in cases:
        conn.send_raw(encode_frame(FrameKind.CONTROL, payload))
        answer = conn.read_message()
        assert answer["type"] == "reply" and answer["id"] == request_id, (payload, answer)
        assert answer["error"]["code"] == code, (payload, answer)
        assert answer["error"]["message"]
    # Still the same, working connection.
    assert conn.ok("register", username="survivor", password="secret-pw")["user_id"]


def test_media_hello_on_the_control_port_is_refused(sqlite_meeting_server):
    conn = _hello(sqlite_meeting_server)
    assert conn.error_code("media_hello", token="x", stream="audio") == "BAD_REQUEST"


def test_sql_looking_room_ids_are_just_unknown_rooms(meeting_server):
    alice = Participant(meeting_server, "alice")
    for room_id in ("' OR '1'='1", "x'); DROP TABLE rooms;--", "%", ""):
        assert alice.control.error_code("join_room", room_id=room_id) == "UNKNOWN_ROOM"
    assert alice.control.ok("create_room", persistent=True)["room"]["room_id"]
    assert len(alice.control.ok("list_rooms")["rooms"]) == 1


def test_media_before_media_hello_closes_and_is_logged_once(sqlite_meeting_server, caplog):
    caplog.set_level(logging.WARNING)
    header = MediaHeader(StreamKind.AUDIO, 1, 0, 0, Codec.OPUS, False, MediaSource.CAMERA).pack()
    conn = RawConnection(sqlite_meeting_server.audio_port)
    conn.send_raw(encode_frame(FrameKind.MEDIA, header + b"x") * 20)  # one write: read together
    assert conn.is_closed_by_server()
    said = [r.getMessage() for r in caplog.records if "before a successful media_hello" in r.getMessage()]
    assert len(said) == 1, said
