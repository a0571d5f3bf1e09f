"""A client whose heartbeat stops is removed, and its room is told."""

import time

from protocol import PROTOCOL_VERSION
from tests.conftest import running_meeting_server
from tests.raw_client import Participant, RawConnection


def test_a_silent_client_is_removed_and_the_room_told(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", heartbeat_timeout=0.8) as server:
        alice, bob = Participant(server, "alice"), Participant(server, "bob")
        room_id = alice.control.ok("create_room")["room"]["room_id"]
        bob.control.ok("join_room", room_id=room_id)
        lurker = RawConnection(server.control_port)  # never even says hello
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:  # alice keeps her heartbeat; bob is silent
            alice.control.ok("heartbeat")
            time.sleep(0.1)
        ended = bob.control.wait_push("session_ended")
        assert ended["reason"] == "heartbeat_timeout"
        assert bob.control.is_closed_by_server() and bob.video.is_closed_by_server()
        alone = [{"user_id": alice.user_id, "username": "alice", "display_name": "alice", "avatar": "",
                  "microphone": True, "camera": True, "screen": False}]
        assert alice.control.wait_push("members", members=alone)
        assert lurker.is_closed_by_server(timeout=1)
        assert alice.control.ok("heartbeat")


def test_heartbeats_keep_a_session_alive(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", heartbeat_timeout=0.6) as server:
        conn = RawConnection(server.control_port)
        conn.ok("hello", version=PROTOCOL_VERSION)
        conn.ok("register", username="steady", password="secret-pw")
        conn.ok("login", username="steady", password="secret-pw")
        for _ in range(15):
            conn.ok("heartbeat")
            time.sleep(0.1)
        assert conn.ok("get_profile")["user"]["username"] == "steady"
