"""A database that goes down: clear errors, no hang, and the relay goes on."""

import logging
import threading
import time

from protocol import PROTOCOL_VERSION
from protocol.media import StreamKind
from server.storage import open_storage
from server.storage.errors import StorageUnavailable
from tests.conftest import running_meeting_server, wait_until
from tests.raw_client import Participant, RawConnection, room_of


class SwitchableStorage:
    """The real SQLite storage, with a switch that makes every call fail as a dead server would."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.down = False
        self.calls = 0  # calls that reached the database, failing or not
        self._lock = threading.Lock()

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name == "close" or not callable(attr):
            return attr

        def call(*args, **kwargs):
            with self._lock:
                self.calls += 1
            if self.down:
                raise StorageUnavailable("connection refused (the test switched the database off)")
            return attr(*args, **kwargs)

        return call


def test_requests_needing_the_database_fail_clearly_while_the_relay_goes_on(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    storage = SwitchableStorage(open_storage(url))
    with running_meeting_server(url, storage=storage) as server:
        alice, bob = Participant(server, "alice"), Participant(server, "bob")
        room_id = alice.control.ok("create_room")["room"]["room_id"]
        bob.control.ok("join_room", room_id=room_id)

        storage.down = True
        started = time.monotonic()
        answer = alice.control.request("register", username="newcomer", password="secret-pw")
        assert answer["error"]["code"] == "DATABASE_UNAVAILABLE"
        assert "database" in answer["error"]["message"]
        assert bob.control.error_code("get_profile") == "DATABASE_UNAVAILABLE"
        assert time.monotonic() - started < 3
        # Media between people already in the room is untouched by the outage.
        header = alice.send_media(StreamKind.VIDEO, b"frame during the outage")
        assert bob.read_media(StreamKind.VIDEO) == (header, b"frame during the outage")
        assert alice.control.ok("chat", text="still talking")["sent_at"]

        storage.down = False
        assert alice.control.ok("register", username="newcomer", password="secret-pw")["user_id"]
        alice.close()
        bob.close()


def test_a_dead_database_is_left_alone_for_a_moment_then_tried_again(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    url = f"sqlite:///{tmp_path}/m.db"
    storage = SwitchableStorage(open_storage(url))
    with running_meeting_server(url, storage=storage) as server:
        alice, bob = room_of(server, "alice", "bob")
        Participant(server, "carol").close()
        # Ten people at once, each from an address of their own (ten parallel logins for one name
        # from one address would be limited as guessing is).
        conns = [RawConnection(server.control_port, source=f"127.0.0.{10 + n}") for n in range(10)]
        for conn in conns:
            conn.ok("hello", version=PROTOCOL_VERSION)

        storage.down = True
        storage.calls = 0
        started = time.monotonic()
        for conn in conns:
            conn.send_json({"type": "login", "id": 1, "username": "carol", "password": "secret-pw"})
        for conn in conns:
            assert conn.wait_reply(1)["error"]["code"] == "DATABASE_UNAVAILABLE"
        assert time.monotonic() - started < 3
        # The circuit breaker: after three failures in a row the dead database is not asked again
        # (the second worker may have taken a fourth job just before the third failed).
        assert 3 <= storage.calls <= 4
        assert alice.control.ok("chat", text="still talking")["sent_at"]
        header = alice.send_media(StreamKind.AUDIO, b"still heard")
        assert bob.read_media(StreamKind.AUDIO) == (header, b"still heard")

        storage.down = False
        # Within the breaker's cooldown (2 s) one request tries the database again, and works.
        assert wait_until(lambda: "result" in conns[0].request("login", username="carol",
                                                               password="secret-pw"), timeout=5, interval=0.1)
        said = [record.getMessage() for record in caplog.records]
        assert sum("unavailable" in line for line in said) == 1, said
        assert sum("available again" in line for line in said) == 1, said
        for person in (alice, bob, *conns):
            person.close()
