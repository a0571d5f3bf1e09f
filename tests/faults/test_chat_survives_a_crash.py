"""Chat of a persistent room: a line the server acknowledged is in the database, even when the
server is killed (kill -9) the moment after, or the database is down when it is said."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from protocol import PROTOCOL_VERSION
from server.storage import open_storage
from tests.conftest import free_base_port, running_meeting_server, wait_until
from tests.raw_client import Participant, RawConnection
from tests.test_database_down import SwitchableStorage

ROOT = Path(__file__).resolve().parents[2]
LINES = 200


def start_server(port: int, db: Path, *flags: str) -> subprocess.Popen:
    """server_main.py on SQLite at `db`, with more flags if given; returns once it listens."""
    proc = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1", "--port",
                             str(port), "--db", f"sqlite:///{db}", "--log-level", "WARNING", *flags],
                            cwd=db.parent, stderr=subprocess.DEVNULL)

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    assert wait_until(listening, timeout=15, interval=0.05)
    return proc


def test_every_acknowledged_line_is_kept_through_kill_9(tmp_path: Any) -> None:
    port, db = free_base_port(), tmp_path / "m.db"
    server = start_server(port, db)
    try:
        conn = RawConnection(port)
        conn.ok("hello", version=PROTOCOL_VERSION)
        conn.ok("register", username="talker", password="secret-pw")
        conn.ok("login", username="talker", password="secret-pw")
        room_id = conn.ok("create_room", persistent=True)["room"]["room_id"]
        # Pipelined, as a fast typist's client would: the server is killed while lines are in flight.
        for n in range(LINES):
            conn.send_json({"type": "chat", "id": 1000 + n, "text": f"line {n}"})
        acknowledged = set()
        while len(acknowledged) < LINES // 2:
            message = conn.read_message()
            if message.get("type") == "reply" and "result" in message:
                acknowledged.add(message["id"] - 1000)
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        # Replies that were already on their way count as acknowledged too.
        try:
            while True:
                message = conn.read_message()
                if message.get("type") == "reply" and "result" in message:
                    acknowledged.add(message["id"] - 1000)
        except Exception:
            pass
        assert len(acknowledged) >= LINES // 2
    finally:
        server.kill()
        server.wait(10)
    with sqlite3.connect(db) as stored:
        kept = {int(text.split()[1]) for (text,) in
                stored.execute("SELECT text FROM chat_messages WHERE room_id = ?", (room_id,))}
    assert acknowledged <= kept, sorted(acknowledged - kept)[:10]


def test_a_line_that_cannot_be_written_is_refused_not_acknowledged(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/m.db"
    storage = SwitchableStorage(open_storage(url))
    with running_meeting_server(url, storage=storage) as server:
        alice, bob = Participant(server, "alice"), Participant(server, "bob")
        room_id = alice.control.ok("create_room", persistent=True)["room"]["room_id"]
        bob.control.ok("join_room", room_id=room_id)
        bob.control.wait_push("members")
        storage.down = True
        assert alice.control.error_code("chat", text="into the void") == "DATABASE_UNAVAILABLE"
        assert bob.control.nothing_arrives()  # nobody was shown a line that is not kept
        storage.down = False
        assert alice.control.ok("chat", text="kept")["sent_at"]
        assert bob.control.wait_push("chat")["text"] == "kept"
        alice.close()
        bob.close()


def test_a_burst_of_password_hashes_does_not_hold_up_a_chat_line(tmp_path: Any) -> None:
    # One address registering forty accounts at once would meet the registration limit and its
    # share of the hashing queue: both are raised here, this test is about the two pools.
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", rate_limits={"register_per_address": "none"},
                                hash_queue_per_address=64) as server:
        alice = Participant(server, "alice")
        alice.control.ok("create_room", persistent=True)
        # Forty registrations, then a chat line, on one connection: the hashes keep two workers busy.
        for n in range(40):
            alice.control.send_json({"type": "register", "id": 100 + n, "username": f"crowd{n}",
                                     "password": "secret-pw"})
        alice.control.send_json({"type": "chat", "id": 999, "text": "not behind the crowd"})
        order = []
        while len(order) < 41:
            message = alice.control.read_message()
            if message.get("type") == "reply":
                assert "result" in message, message
                order.append(message["id"])
        # Written and acknowledged while the crowd still waited for its hashes (order, not time).
        assert order.index(999) < 10, order
        alice.close()
