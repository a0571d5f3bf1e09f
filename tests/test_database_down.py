"""A database that goes down: clear errors, no hang, and the relay goes on."""

import time

from protocol.media import StreamKind
from server.storage import open_storage
from server.storage.errors import StorageUnavailable
from tests.conftest import running_meeting_server
from tests.raw_client import Participant


class SwitchableStorage:
    """The real SQLite storage, with a switch that makes every call fail as a dead server would."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if name == "close" or not callable(attr):
            return attr

        def call(*args, **kwargs):
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
