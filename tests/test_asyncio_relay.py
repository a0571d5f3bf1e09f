"""The asyncio and uvloop baseline relays speak our protocol: the clients that drive our server drive them.

Each runs as `python -m benchmarks.baselines.asyncio_relay` in a subprocess,
exactly as benchmarks/relay_bench.py starts it.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from protocol import PROTOCOL_VERSION
from protocol.framing import FrameKind, encode_frame
from protocol.media import Codec, MediaHeader, StreamKind
from tests.raw_client import RawConnection, room_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIDEO, AUDIO = StreamKind.VIDEO, StreamKind.AUDIO


@pytest.fixture(params=["asyncio", "uvloop"])
def relay(request) -> Iterator[SimpleNamespace]:
    """A running baseline; on teardown SIGTERM must stop it with exit status 0."""
    args = [sys.executable, "-m", "benchmarks.baselines.asyncio_relay", "--port", "0"]
    if request.param == "uvloop":
        args.append("--uvloop")
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready "), (line, proc.stderr.read() if proc.poll() is not None else "")
        yield SimpleNamespace(control_port=int(line.split()[1]), tls=None)  # the baseline speaks in clear
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=5)
    assert proc.returncode == 0, stderr
    assert "stats:" in stderr




def _wait_members(conn: RawConnection, names: list[str]) -> None:
    """Members pushes come on every change: wait for the one that lists exactly these names."""
    while [m["username"] for m in conn.wait_push("members")["members"]] != names:
        pass




def test_frames_reach_every_other_member_intact_and_not_the_sender(relay):
    alice, bob, carol = room_of(relay, "alice", "bob", "carol")
    for person in (alice, bob, carol):
        _wait_members(person.control, ["alice", "bob", "carol"])
    video = []
    for i in range(20):
        payload = os.urandom(1000 + i * 997)
        video.append((alice.send_media(VIDEO, payload, Codec.H264, keyframe=i % 10 == 0), payload))
    audio = [(alice.send_media(AUDIO, os.urandom(100)),) for _ in range(30)]
    for receiver in (bob, carol):
        for header, payload in video:
            assert receiver.read_media(VIDEO) == (header, payload)
        assert [receiver.read_media(AUDIO)[0] for _ in audio] == [h for (h,) in audio]
    assert alice.video.nothing_arrives() and alice.audio.nothing_arrives()
    for person in (alice, bob, carol):
        person.close()


def test_a_forged_sender_id_closes_only_that_connection(relay):
    alice, bob, carol = room_of(relay, "alice", "bob", "carol")
    forged = MediaHeader(VIDEO, bob.user_id, 1, 0, Codec.JPEG, True)
    alice.video.send_raw(encode_frame(FrameKind.MEDIA, forged.pack() + b"not alice's"))
    assert alice.video.is_closed_by_server()
    assert bob.video.nothing_arrives() and carol.video.nothing_arrives()
    # Alice's audio and control, and everyone else, carry on.
    header = alice.send_media(AUDIO, b"still here")
    assert bob.read_media(AUDIO) == (header, b"still here")
    header = bob.send_media(VIDEO, b"bob's frame")
    assert carol.read_media(VIDEO) == (header, b"bob's frame")
    assert "server_time" in alice.control.ok("heartbeat")
    for person in (alice, bob, carol):
        person.close()


def test_a_receiver_that_falls_behind_skips_to_the_newest_video_frame(relay):
    alice, bob = room_of(relay, "alice", "bob")
    payload = os.urandom(200_000)
    # Bob reads nothing until all 100 frames (20 MB, more than loopback buffers hold) are sent.
    last = [alice.send_media(VIDEO, payload) for _ in range(100)][-1]
    received = []
    while not received or received[-1] != last.sequence:
        header, got = bob.read_media(VIDEO)
        assert got == payload
        received.append(header.sequence)
    assert received == sorted(received) and len(received) < 100
    for person in (alice, bob):
        person.close()


def test_leaving_tells_the_others_and_stops_the_frames(relay):
    alice, bob = room_of(relay, "alice", "bob")
    bob.control.ok("leave_room")
    _wait_members(alice.control, ["alice"])
    alice.send_media(VIDEO, b"to nobody")
    assert bob.video.nothing_arrives()
    for person in (alice, bob):
        person.close()


def test_errors_come_back_in_our_format(relay):
    conn = RawConnection(relay.control_port, tls=False)
    assert conn.error_code("heartbeat") == "HELLO_FIRST"
    conn.ok("hello", version=PROTOCOL_VERSION)
    conn.ok("register", username="ada", password="secret-pw")
    assert conn.error_code("register", username="ada", password="other-pw") == "NAME_TAKEN"
    assert conn.error_code("create_room") == "NOT_LOGGED_IN"
    assert conn.error_code("login", username="ada", password="wrong-pw") == "WRONG_PASSWORD"
    assert conn.error_code("list_rooms") == "UNKNOWN_TYPE"
    conn.ok("login", username="ada", password="secret-pw")
    assert conn.error_code("join_room", room_id="zzzzzz") == "UNKNOWN_ROOM"
    media = RawConnection(relay.control_port + 2, tls=False)
    assert media.error_code("media_hello", token="forged", stream="video") == "BAD_TOKEN"
    assert media.is_closed_by_server()
    conn.close()
