"""Rooms that were live, temporary ones too, come back after a restart or a crash, with their title
and password; those nobody rejoins within the grace period are deleted."""

from __future__ import annotations

import signal
import time
from typing import Any

from tests.conftest import free_base_port, running_meeting_server, wait_until
from tests.faults.test_chat_survives_a_crash import start_server
from tests.raw_client import Participant


def test_a_temporary_room_is_rejoined_by_id_after_a_clean_restart(tmp_path: Any) -> None:
    port, url = free_base_port(), f"sqlite:///{tmp_path}/m.db"
    with running_meeting_server(url, port=port) as server:
        alice = Participant(server, "alice")
        bob = Participant(server, "bob")
        room = alice.control.ok("create_room", title="Standup", password="door-code")["room"]
        bob.control.ok("join_room", room_id=room["room_id"], password="door-code")
    with running_meeting_server(url, port=port) as server:
        bob = Participant(server, "bob", register=False)
        assert bob.control.error_code("join_room", room_id=room["room_id"], password="wrong") \
            == "WRONG_ROOM_PASSWORD"
        back = bob.control.ok("join_room", room_id=room["room_id"], password="door-code")["room"]
        assert (back["room_id"], back["title"], back["persistent"]) == (room["room_id"], "Standup", False)
        bob.close()


def test_a_temporary_room_survives_kill_9(tmp_path: Any) -> None:
    port, db = free_base_port(), tmp_path / "m.db"
    server = start_server(port, db)
    try:
        alice = Participant(_At(port), "alice")
        room_id = alice.control.ok("create_room", title="Crash course")["room"]["room_id"]
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        server = start_server(port, db)
        again = Participant(_At(port), "alice", register=False)
        assert again.control.ok("join_room", room_id=room_id)["room"]["title"] == "Crash course"
        again.close()
    finally:
        server.kill()
        server.wait(10)


def test_rooms_nobody_rejoins_are_deleted_after_the_grace_period(tmp_path: Any) -> None:
    port, url = free_base_port(), f"sqlite:///{tmp_path}/m.db"
    with running_meeting_server(url, port=port) as server:
        alice = Participant(server, "alice")
        kept = alice.control.ok("create_room", title="Rejoined")["room"]["room_id"]
        bob = Participant(server, "bob")
        dropped = bob.control.ok("create_room", title="Abandoned")["room"]["room_id"]
    with running_meeting_server(url, port=port, room_grace=1.0) as server:
        alice = Participant(server, "alice", register=False)
        alice.control.ok("join_room", room_id=kept)  # back within the grace period
        time.sleep(1.5)
        bob = Participant(server, "bob", register=False)
        assert wait_until(lambda: bob.control.error_code("join_room", room_id=dropped) == "UNKNOWN_ROOM",
                          timeout=5)
        # The rejoined one is live; once its last member leaves, it ends as any temporary room does.
        assert bob.control.ok("join_room", room_id=kept)["room"]["title"] == "Rejoined"
        alice.close()
        bob.close()


class _At:
    """What Participant needs of a server: its control port."""

    def __init__(self, port: int) -> None:
        self.control_port = port
