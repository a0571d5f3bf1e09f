"""Accounts end to end: register, log in, profiles, one session per account."""

import base64
import hashlib
import threading

from protocol import PROTOCOL_VERSION
from tests.raw_client import Participant, RawConnection

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10  # the signature, then anything
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hello(server) -> RawConnection:
    conn = RawConnection(server.control_port)
    conn.ok("hello", version=PROTOCOL_VERSION)
    return conn


def test_hello_names_the_version_and_rejects_another(meeting_server):
    conn = RawConnection(meeting_server.control_port)
    assert conn.error_code("register", username="early", password="secret-pw") == "HELLO_FIRST"
    answer = conn.request("hello", version=PROTOCOL_VERSION + 1)
    assert answer["error"]["code"] == "UNSUPPORTED_VERSION"
    assert "version" in answer["error"]["message"]
    # A version-1 client would send screen shares that it cannot tell from cameras: refused too.
    assert PROTOCOL_VERSION == 2
    assert conn.request("hello", version=1)["error"]["code"] == "UNSUPPORTED_VERSION"
    result = conn.ok("hello", version=PROTOCOL_VERSION)
    assert result["version"] == PROTOCOL_VERSION and result["server_time"] > 0


def test_register_then_log_in_with_each_failure_its_code(meeting_server):
    conn = _hello(meeting_server)
    user_id = conn.ok("register", username="ada", password="lovelace1", display_name="Ada L.")["user_id"]
    assert conn.error_code("register", username="ada", password="another1") == "NAME_TAKEN"
    assert conn.error_code("register", username=" ada", password="another1") == "INVALID_NAME"
    assert conn.error_code("register", username="x" * 33, password="another1") == "INVALID_NAME"
    assert conn.error_code("register", username="bob", password="short") == "INVALID_PASSWORD"
    # An unknown name and a wrong password get one answer: no reply tells which names exist.
    assert conn.error_code("login", username="nobody", password="lovelace1") == "WRONG_PASSWORD"
    assert conn.error_code("login", username="ada", password="wrong-one") == "WRONG_PASSWORD"
    assert conn.error_code("login", username="Adam", password="lovelace1") == "WRONG_PASSWORD"
    assert conn.error_code("get_profile") == "NOT_LOGGED_IN"
    login = conn.ok("login", username="ADA", password="lovelace1")  # any case: one account
    assert login["user"] == {"user_id": user_id, "username": "ada", "display_name": "Ada L.",
                             "signature": "", "avatar": ""}
    assert login["token"] and login["audio_port"] == meeting_server.audio_port
    assert login["video_port"] == meeting_server.video_port and login["heartbeat_interval"] > 0
    assert conn.error_code("login", username="ada", password="lovelace1") == "ALREADY_LOGGED_IN"


def test_names_are_stored_as_typed_whatever_characters_they_hold(meeting_server):
    conn = _hello(meeting_server)
    names = ["Zoë", "x');DROP/**/TABLE/**/users;--", "名前", "a\"b\\c", "%_*"]
    ids = {name: conn.ok("register", username=name, password="secret-pw")["user_id"] for name in names}
    assert len(set(ids.values())) == len(names)
    for name in names:
        other = _hello(meeting_server)
        assert other.ok("login", username=name, password="secret-pw")["user"]["username"] == name
        other.close()
    # The table survived the SQL-looking name: a new registration still works.
    assert conn.ok("register", username="after", password="secret-pw")["user_id"]


def test_two_registrations_of_one_name_at_once_exactly_one_succeeds(meeting_server):
    conns = [_hello(meeting_server) for _ in range(6)]
    outcomes = []
    barrier = threading.Barrier(len(conns))

    def register(conn):
        barrier.wait()
        outcomes.append(conn.request("register", username="race", password="secret-pw"))

    threads = [threading.Thread(target=register, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sum("result" in o for o in outcomes) == 1
    assert sorted(o["error"]["code"] for o in outcomes if "error" in o) == ["NAME_TAKEN"] * 5


def test_repeated_wrong_passwords_are_rate_limited(meeting_server):
    conn = _hello(meeting_server)
    conn.ok("register", username="target", password="right-password")
    codes = [conn.error_code("login", username="target", password=f"guess-{i}") for i in range(5)]
    assert codes == ["WRONG_PASSWORD"] * 5
    # After five wrong passwords the sixth attempt is refused unchecked, the right one too.
    answer = conn.request("login", username="target", password="right-password")
    assert answer["error"]["code"] == "RATE_LIMITED"
    assert f"try again in {answer['error']['retry_after']} s" in answer["error"]["message"]
    # Other names are not affected.
    conn.ok("register", username="bystander", password="right-password")
    login = conn.ok("login", username="bystander", password="right-password")
    assert login["user"]["username"] == "bystander"


def test_profile_update_with_avatar_is_seen_by_others(meeting_server):
    alice = Participant(meeting_server, "alice")
    user = alice.control.ok("update_profile", display_name="Alice A.", signature="hi there",
                            avatar=_b64(PNG))["user"]
    assert (user["display_name"], user["signature"]) == ("Alice A.", "hi there")
    assert base64.b64decode(user["avatar"]) == PNG
    bob = Participant(meeting_server, "bob")
    # A stranger's profile and a name nobody has get one answer; sharing a room shows it.
    stranger = bob.control.request("get_profile", username="alice")["error"]
    assert stranger == bob.control.request("get_profile", username="nobody")["error"]
    assert stranger["code"] == "NOT_IN_ROOM"
    bob.control.ok("join_room", room_id=alice.control.ok("create_room")["room"]["room_id"])
    seen = bob.control.ok("get_profile", username="alice")["user"]
    assert seen == user
    largest = b"\x89PNG\r\n\x1a\n" + bytes(256 * 1024 - 8)
    stored = alice.control.ok("update_profile", avatar=_b64(largest))["user"]["avatar"]
    assert base64.b64decode(stored) == largest
    assert alice.control.error_code("update_profile", avatar=_b64(largest + b"!")) == "AVATAR_TOO_LARGE"
    assert alice.control.error_code("update_profile", avatar="not base64!") == "BAD_REQUEST"
    for not_an_image in (b"GIF89a" + bytes(100), b"<svg onload='x'/>", bytes(100)):
        answer = alice.control.request("update_profile", avatar=_b64(not_an_image))
        assert answer["error"] == {"code": "BAD_AVATAR", "message": "The avatar must be a PNG or JPEG image."}
    assert base64.b64decode(alice.control.ok("update_profile", avatar=_b64(JPEG))["user"]["avatar"]) == JPEG
    assert alice.control.ok("update_profile", avatar="")["user"]["avatar"] == ""  # "" removes it
    alice.close()
    bob.close()


def _member_in_push(conn: RawConnection, user_id: int, **wanted) -> dict:
    """The member entry of `user_id` in the first members push that shows it as wanted."""
    while True:
        entry = next(m for m in conn.wait_push("members")["members"] if m["user_id"] == user_id)
        if all(entry[key] == value for key, value in wanted.items()):
            return entry


def test_room_members_see_avatar_hashes_and_fetch_avatars(meeting_server):
    alice, bob, outsider = (Participant(meeting_server, name) for name in ("alice", "bob", "outsider"))
    room_id = alice.control.ok("create_room")["room"]["room_id"]
    bob.control.ok("join_room", room_id=room_id)
    alice.control.ok("update_profile", avatar=_b64(PNG), display_name="Alice A.")
    digest = hashlib.sha256(PNG).hexdigest()[:16]
    seen = _member_in_push(bob.control, alice.user_id, avatar=digest)  # the hash, never the image
    assert seen["display_name"] == "Alice A."
    fetched = bob.control.ok("get_avatar", user_id=alice.user_id)
    assert fetched == {"user_id": alice.user_id, "avatar": _b64(PNG), "avatar_hash": digest}
    assert bob.control.ok("get_avatar", user_id=bob.user_id) == {"user_id": bob.user_id, "avatar": "",
                                                                 "avatar_hash": ""}
    answer = outsider.control.request("get_avatar", user_id=alice.user_id)
    assert answer["error"]["code"] == "NOT_IN_ROOM" and "your room" in answer["error"]["message"]
    assert outsider.control.ok("get_avatar", user_id=outsider.user_id)["avatar"] == ""

    # A new signature is not in member lists: nobody is told.
    bob.control.pushes.clear()
    alice.control.ok("update_profile", signature="new signature")
    assert bob.control.nothing_arrives(0.3)
    alice.control.ok("update_profile", avatar="")
    assert _member_in_push(bob.control, alice.user_id)["avatar"] == ""
    assert bob.control.ok("get_avatar", user_id=alice.user_id)["avatar"] == ""
    bob.control.ok("leave_room")
    assert bob.control.error_code("get_avatar", user_id=alice.user_id) == "NOT_IN_ROOM"
    for p in (alice, bob, outsider):
        p.close()


def test_a_second_login_ends_the_first_which_is_told_why(meeting_server):
    first = Participant(meeting_server, "carol")
    second = Participant(meeting_server, "carol", register=False)
    push = first.control.wait_push("session_ended")
    assert push["reason"] == "logged_in_elsewhere" and push["message"]
    assert first.control.is_closed_by_server()
    assert first.video.is_closed_by_server() and first.audio.is_closed_by_server()
    # The old token no longer opens media connections; the new session works.
    stale = RawConnection(meeting_server.audio_port)
    assert stale.error_code("media_hello", token=first.token, stream="audio") == "BAD_TOKEN"
    assert second.control.ok("get_profile")["user"]["username"] == "carol"
    second.close()


def test_logout_ends_the_session_but_keeps_the_connection(meeting_server):
    dave = Participant(meeting_server, "dave")
    dave.control.ok("logout")
    assert dave.video.is_closed_by_server()
    assert dave.control.error_code("get_profile") == "NOT_LOGGED_IN"
    assert dave.control.ok("login", username="dave", password="secret-pw")["user"]["username"] == "dave"
