"""The relay end to end: frames reach everyone else, intact; the rules per receiver."""

import os
import threading
import time

import pytest

from protocol.framing import FrameKind, encode_frame
from protocol.media import Codec, MediaHeader, MediaSource, StreamKind
from tests.conftest import call_in_loop, wait_until
from tests.raw_client import Participant, RawConnection, room_of

VIDEO, AUDIO = StreamKind.VIDEO, StreamKind.AUDIO
CAMERA, SCREEN = MediaSource.CAMERA, MediaSource.SCREEN


def test_every_frame_reaches_every_other_member_intact(sqlite_meeting_server):
    alice, bob, carol = room_of(sqlite_meeting_server, "alice", "bob", "carol")
    sent = []
    for i in range(30):
        payload = os.urandom(1000 + i * 37)
        sent.append((alice.send_media(VIDEO, payload, Codec.H264, keyframe=(i % 10 == 0)), payload))
    audio_sent = [(alice.send_media(AUDIO, os.urandom(80)), None) for _ in range(50)]
    for receiver in (bob, carol):
        for header, payload in sent:
            got_header, got_payload = receiver.read_media(VIDEO)
            assert got_header == header and got_payload == payload
        assert [receiver.read_media(AUDIO)[0] for _ in audio_sent] == [h for h, _ in audio_sent]
    assert alice.video.nothing_arrives() and alice.audio.nothing_arrives()
    for p in (alice, bob, carol):
        p.close()


def test_frames_outside_a_room_go_nowhere_and_a_late_joiner_gets_later_ones(sqlite_meeting_server):
    alice, bob = Participant(sqlite_meeting_server, "alice"), Participant(sqlite_meeting_server, "bob")
    room_id = alice.control.ok("create_room")["room"]["room_id"]
    server = sqlite_meeting_server
    bob.send_media(VIDEO, b"before joining")
    alice.send_media(VIDEO, b"nobody to see this")
    # Media and control travel on different connections (and loops): wait
    # until the server has seen both frames before bob joins.
    assert wait_until(lambda: call_in_loop(server.loop, server.stats)["frames_in"] == 2)
    bob.control.ok("join_room", room_id=room_id)
    assert alice.video.nothing_arrives()
    header = alice.send_media(VIDEO, b"now you see me")
    assert bob.read_media(VIDEO) == (header, b"now you see me")
    # Counters are bumped on the I/O loop just after the send: allow it a moment.
    assert wait_until(lambda: call_in_loop(server.loop, server.stats)["frames_out"] == 1)
    assert call_in_loop(server.loop, server.stats)["dropped_outside_room"] == 1


def test_a_forged_sender_closes_only_that_media_connection(sqlite_meeting_server):
    alice, bob = room_of(sqlite_meeting_server, "alice", "bob")
    forged = MediaHeader(VIDEO, bob.user_id, 1, 0, Codec.JPEG, False)
    alice.video.send_raw(encode_frame(FrameKind.MEDIA, forged.pack() + b"pretending to be bob"))
    assert alice.video.is_closed_by_server()
    assert alice.control.ok("heartbeat")  # the control connection lives on
    header = alice.send_media(AUDIO, b"alice's audio still flows")
    assert bob.read_media(AUDIO) == (header, b"alice's audio still flows")


def test_media_connections_must_prove_who_they_are(sqlite_meeting_server):
    server = sqlite_meeting_server
    alice = Participant(server, "alice")
    forged = RawConnection(server.video_port)
    answer = forged.request("media_hello", token="not-a-token", stream="video")
    assert answer["error"]["code"] == "BAD_TOKEN" and "log in" in answer["error"]["message"]
    assert forged.is_closed_by_server()
    wrong_port = RawConnection(server.audio_port)
    assert wrong_port.error_code("media_hello", token=alice.token, stream="video") == "BAD_REQUEST"
    assert wrong_port.is_closed_by_server()
    eager = RawConnection(server.video_port)
    eager.send_raw(encode_frame(FrameKind.MEDIA, MediaHeader(VIDEO, alice.user_id, 1, 0, Codec.JPEG,
                                                             False).pack()))
    assert eager.is_closed_by_server()


def test_a_receiver_that_never_reads_neither_slows_the_others_nor_grows_memory(sqlite_meeting_server):
    server = sqlite_meeting_server
    alice, stalled, carol = room_of(server, "alice", "stalled", "carol")
    frame = os.urandom(64 * 1024)
    count = 400  # 25 MiB: far more than the stalled reader's socket buffers hold
    received = []

    def carol_reads():
        for _ in range(count):
            received.append(carol.read_media(VIDEO)[0].sequence)

    reader = threading.Thread(target=carol_reads)
    reader.start()
    sent = []
    for _ in range(count):
        sent.append(alice.send_media(VIDEO, frame).sequence)
        # Paced (30 MB/s): carol must keep up even when the machine is busy,
        # since she shares the GIL with the server in this process.
        time.sleep(0.002)
    reader.join(30)
    assert received == sent  # carol got every frame, in order

    session = call_in_loop(server.loop, lambda: server.service.sessions_by_user[stalled.user_id])
    peer = session.video
    queued = call_in_loop(peer.conn.loop, lambda: peer.conn.output_bytes)
    assert peer.drops > 0
    # At most the frame the kernel half took plus one waiting: latest-wins.
    assert queued <= 2 * (len(frame) + 64)
    assert call_in_loop(server.loop, server.stats)["drops"] >= peer.drops


def test_a_slow_receiver_skips_stale_frames_of_each_person_never_a_whole_person(sqlite_meeting_server):
    server = sqlite_meeting_server
    alice, bob, slow = room_of(server, "alice", "bob", "slow")
    peer = call_in_loop(server.loop, lambda: server.service.sessions_by_user[slow.user_id]).video
    streams = [(alice, CAMERA), (alice, SCREEN), (bob, CAMERA)]
    frame = os.urandom(64 * 1024)
    sent: dict[tuple[int, MediaSource], list[int]] = {(p.user_id, s): [] for p, s in streams}

    def send_round(payload: bytes) -> None:
        for person, source in streams:
            sent[person.user_id, source].append(person.send_media(VIDEO, payload, source=source).sequence)

    # `slow` reads nothing until its socket buffers are full and the server holds frames back.
    for _ in range(400):
        send_round(frame)
        if call_in_loop(peer.conn.loop, lambda: len(peer.pending)) == len(streams):
            break
    else:
        raise AssertionError("the server never had to hold frames back for the slow receiver")
    for _ in range(5):
        send_round(frame)
    send_round(b"the newest")
    total = sum(len(sequences) for sequences in sent.values())
    assert wait_until(lambda: call_in_loop(server.loop, server.stats)["frames_in"] == total)

    newest: dict[tuple[int, MediaSource], tuple[int, bytes]] = {}
    received: dict[tuple[int, MediaSource], list[int]] = {key: [] for key in sent}
    while len(newest) < len(streams):
        header, payload = slow.read_media(VIDEO)
        key = header.sender_id, header.source
        received[key].append(header.sequence)
        if payload == b"the newest":
            newest[key] = header.sequence, payload
    for key, sequences in sent.items():
        assert newest[key][0] == sequences[-1]  # the newest frame of every person and source
        assert received[key] == sorted(received[key])  # in order within each stream
        assert set(received[key]) <= set(sequences)
    assert sum(map(len, received.values())) < total and peer.drops > 0  # stale ones were skipped
    assert slow.video.nothing_arrives()


def test_audio_to_a_stalled_receiver_is_a_short_bounded_queue(sqlite_meeting_server):
    server = sqlite_meeting_server
    alice, stalled = room_of(server, "alice", "stalled")
    frame = os.urandom(1000)
    for _ in range(20_000):  # 20 MB: more than the stalled reader's socket buffers hold
        alice.send_media(AUDIO, frame)
    session = call_in_loop(server.loop, lambda: server.service.sessions_by_user[stalled.user_id])
    peer = session.audio
    assert wait_until(lambda: peer.drops > 0, timeout=5)
    queued = call_in_loop(peer.conn.loop, lambda: peer.conn.output_bytes)
    assert queued <= peer.AUDIO_QUEUE_LIMIT + 1100


def test_a_key_frame_request_reaches_the_sender(sqlite_meeting_server):
    alice, bob = room_of(sqlite_meeting_server, "alice", "bob")
    bob.control.ok("request_keyframe", user_id=alice.user_id)
    push = alice.control.wait_push("keyframe_request")
    assert (push["from_user_id"], push["source"]) == (bob.user_id, "camera")  # the camera unless said
    bob.control.ok("request_keyframe", user_id=alice.user_id, source="screen")
    assert alice.control.wait_push("keyframe_request")["source"] == "screen"
    bob.control.ok("request_keyframe", user_id=alice.user_id, source="camera")
    assert alice.control.wait_push("keyframe_request")["source"] == "camera"
    assert bob.control.error_code("request_keyframe", user_id=alice.user_id, source="window") == "BAD_REQUEST"
    with pytest.raises(TimeoutError):  # the refused request asked nobody
        alice.control.wait_push("keyframe_request", timeout=0.3)
    outsider = Participant(sqlite_meeting_server, "outsider")
    assert outsider.control.error_code("request_keyframe", user_id=alice.user_id) == "NOT_IN_ROOM"
