"""A receiver that stops reading is let go after a while (the room is told), and a client that never
reads its control connection cannot make the server hold ever more for it."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from protocol.media import StreamKind
from tests.conftest import running_meeting_server, wait_until
from tests.raw_client import room_of

VIDEO = StreamKind.VIDEO


def test_a_video_receiver_that_reads_nothing_is_removed_and_the_room_told(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", receiver_stall_timeout=1.0) as server:
        alice, bob, stuck = room_of(server, "alice", "bob", "stuck")
        frame = os.urandom(64 * 1024)
        deadline = time.monotonic() + 10
        while len(server.service.sessions_by_user) == 3 and time.monotonic() < deadline:
            header = alice.send_media(VIDEO, frame)  # 15 frames a second of 64 KiB; stuck reads none
            assert bob.read_media(VIDEO)[0] == header  # bob keeps up all along
            time.sleep(1 / 15)
        ended = stuck.control.wait_push("session_ended")
        assert ended["reason"] == "too_slow"
        assert "network" in ended["message"]
        assert alice.control.wait_push("members", members=[m for m in alice.control.wait_push("members")
                                                            ["members"] if m["username"] != "stuck"])
        assert stuck.video.is_closed_by_server()
        for person in (alice, bob):
            person.close()


def test_a_client_that_never_reads_its_control_connection_is_closed(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", control_high_water=512 * 1024) as server:
        talker, deaf = room_of(server, "talker", "deaf")
        reading = threading.Thread(target=_read_until_closed, args=(talker.control,), daemon=True)
        reading.start()  # the talker reads its replies and the pushes of its own lines
        line = "x" * 2000
        # Up to 24 MB of chat pushes for deaf, who reads nothing (the kernel's buffers take a few MB).
        for _ in range(12_000):
            talker.control.send_json({"type": "chat", "id": 1, "text": line})
            if len(server.service.clients) == 1:
                break
        assert wait_until(lambda: len(server.service.clients) == 1, timeout=10)
        assert deaf.control.is_closed_by_server()
        talker.close()


def _read_until_closed(conn: Any) -> None:
    try:
        while True:
            conn.read_frame()
    except Exception:
        return
