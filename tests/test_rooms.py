"""Rooms end to end: create, join by id, members, chat, errors, persistence."""

from protocol import PROTOCOL_VERSION
from tests.conftest import running_meeting_server
from tests.raw_client import Participant, RawConnection


def _member_names(push_or_result):
    return [m["username"] for m in push_or_result["members"]]


def test_create_join_chat_and_leave_with_member_pushes(meeting_server):
    alice, bob = Participant(meeting_server, "alice"), Participant(meeting_server, "bob")
    created = alice.control.ok("create_room", title="Standup")
    room_id = created["room"]["room_id"]
    assert len(room_id) == 13 and created["room"]["title"] == "Standup"
    assert _member_names(created) == ["alice"]

    joined = bob.control.ok("join_room", room_id=room_id)
    assert _member_names(joined) == ["alice", "bob"]
    both = [member(alice), member(bob)]
    for person in (alice, bob):
        assert person.control.wait_push("members", room_id=room_id, members=both)

    sent_at = bob.control.ok("chat", text="hello, room")["sent_at"]
    for person in (alice, bob):
        chat = person.control.wait_push("chat")
        assert (chat["username"], chat["display_name"], chat["text"], chat["sent_at"]) == (
            "bob", "bob", "hello, room", sent_at)
        assert chat["user_id"] == bob.user_id and chat["room_id"] == room_id

    bob.control.ok("leave_room")
    assert alice.control.wait_push("members", members=[member(alice)])
    assert bob.control.error_code("chat", text="anyone?") == "NOT_IN_ROOM"
    assert bob.control.error_code("leave_room") == "NOT_IN_ROOM"
    alice.close()
    bob.close()


def member(participant, **changed):
    """A member entry as the server sends it: by default, what a client that never said otherwise sends."""
    return {"user_id": participant.user_id, "username": participant.username,
            "display_name": participant.username, "avatar": "",
            "microphone": True, "camera": True, "screen": False, **changed}


def test_members_see_what_each_other_sends(meeting_server):
    alice, bob = Participant(meeting_server, "alice"), Participant(meeting_server, "bob")
    # Said before joining: remembered, and shown from the first member list on.
    state = alice.control.ok("set_media_state", microphone=False)
    assert state == {"microphone": False, "camera": True, "screen": False}
    room_id = alice.control.ok("create_room")["room"]["room_id"]
    joined = bob.control.ok("join_room", room_id=room_id)
    assert joined["members"] == [member(alice, microphone=False), member(bob)]
    alice.control.wait_push("members", members=[member(alice, microphone=False), member(bob)])

    state = bob.control.ok("set_media_state", camera=False, screen=True)
    assert state == {"microphone": True, "camera": False, "screen": True}
    for person in (alice, bob):
        person.control.wait_push("members", members=[member(alice, microphone=False),
                                                     member(bob, camera=False, screen=True)])
    # Saying what is already known changes nothing: nobody is told again.
    assert bob.control.ok("set_media_state", screen=True)["screen"] is True
    assert alice.control.nothing_arrives(0.3)
    assert bob.control.error_code("set_media_state", microphone="off") == "BAD_REQUEST"
    anonymous = RawConnection(meeting_server.control_port)
    anonymous.ok("hello", version=PROTOCOL_VERSION)
    assert anonymous.error_code("set_media_state", camera=False) == "NOT_LOGGED_IN"
    alice.close()
    bob.close()


def test_join_errors_each_have_their_own_code(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", max_room_size=2) as server:
        owner, guest, third = (Participant(server, name) for name in ("owner", "guest", "third"))
        room_id = owner.control.ok("create_room", password="door-code")["room"]["room_id"]
        assert guest.control.error_code("join_room", room_id="zzzzzz") == "UNKNOWN_ROOM"
        assert guest.control.error_code("join_room", room_id=room_id) == "WRONG_ROOM_PASSWORD"
        wrong = guest.control.error_code("join_room", room_id=room_id, password="guess")
        assert wrong == "WRONG_ROOM_PASSWORD"
        guest.control.ok("join_room", room_id=room_id, password="door-code")
        assert third.control.error_code("join_room", room_id=room_id, password="door-code") == "ROOM_FULL"
        again = guest.control.error_code("join_room", room_id=room_id, password="door-code")
        assert again == "ALREADY_IN_ROOM"
        assert guest.control.error_code("create_room") == "ALREADY_IN_ROOM"
        anonymous = RawConnection(server.control_port)
        anonymous.ok("hello", version=PROTOCOL_VERSION)
        assert anonymous.error_code("join_room", room_id=room_id) == "NOT_LOGGED_IN"
        for p in (owner, guest, third):
            p.close()


def test_a_temporary_room_ends_with_its_last_member(meeting_server):
    alice, bob = Participant(meeting_server, "alice"), Participant(meeting_server, "bob")
    room_id = alice.control.ok("create_room")["room"]["room_id"]
    alice.control.ok("leave_room")
    assert bob.control.error_code("join_room", room_id=room_id) == "UNKNOWN_ROOM"


def test_closing_the_control_connection_removes_the_member(meeting_server):
    alice, bob = Participant(meeting_server, "alice"), Participant(meeting_server, "bob")
    room_id = alice.control.ok("create_room")["room"]["room_id"]
    bob.control.ok("join_room", room_id=room_id)
    bob.close()
    assert alice.control.wait_push("members", members=[member(alice)])


def test_persistent_rooms_accounts_and_chat_survive_a_restart(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    with running_meeting_server(url) as server:
        alice = Participant(server, "alice")
        alice.control.ok("update_profile", signature="still here", display_name="Alice A.")
        room_id = alice.control.ok("create_room", title="Book club", persistent=True,
                                   password="pages")["room"]["room_id"]
        alice.control.ok("chat", text="see you next week")
        alice.close()
    with running_meeting_server(url) as server:
        bob = Participant(server, "bob")
        rooms = bob.control.ok("list_rooms")["rooms"]
        assert [(r["room_id"], r["title"], r["has_password"], r["members"]) for r in rooms] == [
            (room_id, "Book club", True, 0)]
        joined = bob.control.ok("join_room", room_id=room_id, password="pages")
        assert [(c["text"], c["display_name"]) for c in joined["chat"]] == [("see you next week", "Alice A.")]
        assert joined["room"]["persistent"] is True
        alice = Participant(server, "alice", register=False)
        assert alice.control.ok("get_profile")["user"]["signature"] == "still here"
        bob.close()
        alice.close()


def test_list_rooms_counts_live_members(meeting_server):
    alice = Participant(meeting_server, "alice")
    room_id = alice.control.ok("create_room", title="Open", persistent=True)["room"]["room_id"]
    rooms = {r["room_id"]: r for r in alice.control.ok("list_rooms")["rooms"]}
    assert rooms[room_id]["members"] == 1 and rooms[room_id]["persistent"] is True
    alice.close()


def test_time_sync_and_heartbeat_answer_with_the_server_clock(meeting_server):
    import time

    conn = RawConnection(meeting_server.control_port)
    conn.ok("hello", version=PROTOCOL_VERSION)
    before = time.time()
    result = conn.ok("time_sync", client_time=123.5)
    assert result["client_time"] == 123.5
    assert before - 1 < result["server_time"] < time.time() + 1
    assert conn.ok("heartbeat")["server_time"] >= result["server_time"]


def test_a_crowd_joining_at_once_shares_member_pushes(sqlite_meeting_server):
    import threading
    import time

    host = Participant(sqlite_meeting_server, "host")
    room_id = host.control.ok("create_room")["room"]["room_id"]
    crowd = [Participant(sqlite_meeting_server, f"guest{i}") for i in range(12)]
    host.control.wait_push("members")  # the push for the host alone
    threads = [threading.Thread(target=p.control.ok, args=("join_room",), kwargs={"room_id": room_id})
               for p in crowd]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    everyone = 13
    pushes = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and (not pushes or len(pushes[-1]["members"]) < everyone):
        pushes.append(host.control.wait_push("members", timeout=3))
    assert len(pushes[-1]["members"]) == everyone
    assert len(pushes) < len(crowd)  # not one push per join
    for p in [host, *crowd]:
        p.close()
