"""Media tokens are bound to the control connection that logged in: a sniffed token cannot take over
someone's media, yet a client whose media connection dropped opens a new one, and a client that
reconnects logs in again."""

from __future__ import annotations

import time
from typing import Any

from protocol.media import Codec, StreamKind
from tests.conftest import running_meeting_server, wait_until
from tests.raw_client import RawConnection, room_of
from tests.tls_support import meeting_client

VIDEO = StreamKind.VIDEO


def test_a_stolen_token_from_elsewhere_is_refused_and_the_victim_keeps_its_video(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        victim, peer = room_of(server, "victim", "peer")
        thief = RawConnection(server.video_port, source="127.0.0.2")
        assert thief.error_code("media_hello", token=victim.token, stream="video") == "BAD_TOKEN"
        assert thief.is_closed_by_server()
        header = peer.send_media(VIDEO, b"still yours")
        assert victim.read_media(VIDEO) == (header, b"still yours")


def test_a_second_media_hello_for_a_live_stream_is_refused_not_replacing_the_first(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        victim, peer = room_of(server, "victim", "peer")
        # Same address (a thief behind the same NAT, or a replay): the live stream is not handed over.
        second = RawConnection(server.video_port)
        assert second.error_code("media_hello", token=victim.token, stream="video") == \
            "MEDIA_ALREADY_CONNECTED"
        assert second.is_closed_by_server()
        header = peer.send_media(VIDEO, b"to the first")
        assert victim.read_media(VIDEO) == (header, b"to the first")
        assert victim.video.nothing_arrives(0.2)  # not closed


def test_a_token_is_dead_once_its_control_connection_is_gone(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        (gone,) = room_of(server, "gone")
        token = gone.token
        gone.close()
        assert wait_until(lambda: not server.service.sessions_by_user, timeout=5)
        late = RawConnection(server.audio_port)
        assert late.error_code("media_hello", token=token, stream="audio") == "BAD_TOKEN"


def test_a_dropped_media_connection_can_be_opened_again_with_the_same_token(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        alice, bob = room_of(server, "alice", "bob")
        alice.video.close()
        deadline = time.monotonic() + 5
        while True:  # the server hears of the close a moment later
            again = RawConnection(server.video_port)
            answer = again.request("media_hello", token=alice.token, stream="video")
            if "result" in answer or time.monotonic() > deadline:
                break
            assert answer["error"]["code"] == "MEDIA_ALREADY_CONNECTED"
            time.sleep(0.05)
        assert answer["result"]["user_id"] == alice.user_id
        alice.video = again
        header = bob.send_media(VIDEO, b"on the new connection")
        assert alice.read_media(VIDEO) == (header, b"on the new connection")


def test_a_client_whose_control_connection_dropped_logs_in_again_and_gets_media(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        (watcher,) = room_of(server, "watcher")
        room_id = server.service.sessions_by_user[watcher.user_id].room.room_id
        client = meeting_client("127.0.0.1", server.control_port, request_timeout=5)
        try:
            client.connect()
            client.register("mover", "secret-pw")
            client.login("mover", "secret-pw")
            client.join_room(room_id)
            states: list[str] = []
            client.on_state = states.append
            session = server.service.sessions_by_user[client.user_id]
            session.control.conn.force_close()  # the network blinked
            assert wait_until(lambda: "rejoined" in states, timeout=15), states
            client.send_media(VIDEO, Codec.JPEG, b"back again", keyframe=True)
            header, payload = watcher.read_media(VIDEO)
            assert payload == b"back again" and header.sender_id == client.user_id
        finally:
            client.close()
