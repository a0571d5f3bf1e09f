"""list_rooms in pages, a quota of persistent rooms per user, and create_room that leaves nothing
behind when it is refused."""

from __future__ import annotations

import json
from typing import Any

from protocol.framing import FrameKind, encode_frame
from tests.conftest import running_meeting_server, wait_until
from tests.raw_client import Participant
from tests.tls_support import meeting_client


def every_page(person: Participant, limit: int | None = None) -> list[list[dict[str, Any]]]:
    pages, cursor = [], None
    while True:
        fields = {key: value for key, value in (("cursor", cursor), ("limit", limit)) if value is not None}
        result = person.control.ok("list_rooms", **fields)
        pages.append(result["rooms"])
        cursor = result["next_cursor"]
        if cursor is None:
            return pages


def test_two_persistent_creates_in_one_write_make_one_room(meeting_server) -> None:
    alice = Participant(meeting_server, "alice")
    both = b"".join(encode_frame(FrameKind.CONTROL, json.dumps(
        {"type": "create_room", "id": n, "persistent": True, "title": f"Room {n}"}).encode()) for n in (1, 2))
    alice.control.send_raw(both)
    answers = []
    while len(answers) < 2:  # in whichever order they come, pushes skipped
        message = alice.control.read_message()
        if message["type"] == "reply":
            answers.append(message)
    assert sorted("result" if "result" in a else a["error"]["code"] for a in answers) == \
        ["ALREADY_IN_ROOM", "result"]
    assert len(alice.control.ok("list_rooms")["rooms"]) == 1
    # And after leaving, still one: the refused create left no room in the database either.
    alice.control.ok("leave_room")
    bob = Participant(meeting_server, "bob")
    assert len(bob.control.ok("list_rooms")["rooms"]) == 1


def test_a_user_keeps_at_most_the_quota_of_persistent_rooms(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", persistent_rooms_per_user=3) as server:
        owner = Participant(server, "owner")
        for n in range(3):
            owner.control.ok("create_room", persistent=True, title=f"Kept {n}")
            owner.control.ok("leave_room")
        answer = owner.control.request("create_room", persistent=True, title="One too many")
        assert answer["error"]["code"] == "ROOM_QUOTA" and "3" in answer["error"]["message"]
        # Not in a room after the refusal, and a temporary room is still allowed.
        assert owner.control.ok("create_room", title="Temporary")["room"]["persistent"] is False
        assert [len(page) for page in every_page(owner)] == [3]


def test_rooms_come_in_pages_that_join_up_and_never_near_the_frame_limit(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", persistent_rooms_per_user=40) as server:
        people = [Participant(server, f"owner{n}") for n in range(3)]
        longest = "\U0001F600" * 100  # the longest title, in the widest characters
        for person in people:
            for _ in range(40):
                person.control.ok("create_room", persistent=True, title=longest)
                person.control.ok("leave_room")
        reader = people[0]
        pages = every_page(reader, limit=50)
        assert [len(page) for page in pages] == [50, 50, 20]
        ids = [room["room_id"] for page in pages for room in page]
        assert len(set(ids)) == 120
        # The default page, and the largest a client may ask for, stay far below the 4 MiB frame limit.
        reader.control.send_json({"type": "list_rooms", "id": 99, "limit": 100})
        _kind, payload = reader.control.read_frame()
        assert len(payload) < 128 * 1024
        assert len(json.loads(payload)["result"]["rooms"]) == 100


def test_bad_paging_arguments_are_bad_requests(sqlite_meeting_server) -> None:
    alice = Participant(sqlite_meeting_server, "alice")
    for fields in ({"limit": 0}, {"limit": 101}, {"cursor": "nonsense"}, {"cursor": "nan/abc"},
                   {"cursor": "1.5/"}, {"cursor": 7}):
        assert alice.control.error_code("list_rooms", **fields) == "BAD_REQUEST", fields
    assert alice.control.ok("list_rooms", cursor="1.5/zzz") == {"rooms": [], "next_cursor": None}


def test_the_client_pages_through_rooms(tmp_path: Any) -> None:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        owner = Participant(server, "owner")
        for n in range(5):
            owner.control.ok("create_room", persistent=True, title=f"Room {n}")
            owner.control.ok("leave_room")
        with meeting_client("127.0.0.1", server.control_port, request_timeout=5) as client:
            client.connect()
            client.register("reader", "secret-pw")
            client.login("reader", "secret-pw")
            first = client.list_rooms_page(limit=3)
            second = client.list_rooms_page(first["next_cursor"], limit=3)
            assert [len(first["rooms"]), len(second["rooms"])] == [3, 2] and second["next_cursor"] is None
            assert [r["title"] for r in first["rooms"] + second["rooms"]] == [f"Room {n}" for n in range(5)]
            assert len(client.list_rooms()) == 5


def test_a_create_that_loses_to_a_join_sent_with_it_leaves_no_room(sqlite_meeting_server) -> None:
    bob = Participant(sqlite_meeting_server, "bob")
    room_id = bob.control.ok("create_room", title="Bob's")["room"]["room_id"]
    alice = Participant(sqlite_meeting_server, "alice")
    both = ({"type": "create_room", "id": 1, "persistent": True, "title": "Alice's"},
            {"type": "join_room", "id": 2, "room_id": room_id})
    alice.control.send_raw(b"".join(encode_frame(FrameKind.CONTROL, json.dumps(r).encode()) for r in both))
    answers = {}
    while len(answers) < 2:
        message = alice.control.read_message()
        if message["type"] == "reply":
            answers[message["id"]] = message
    entered = [n for n, answer in answers.items() if "result" in answer]
    assert len(entered) == 1, answers
    # Whichever won, the persistent rooms are exactly the one alice is in, or none.
    expected = 1 if entered == [1] else 0
    assert wait_until(lambda: len(bob.control.ok("list_rooms")["rooms"]) == expected, timeout=5)
