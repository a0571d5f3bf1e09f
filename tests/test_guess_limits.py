"""Guessing, tried as an attacker would against a real server process (issue 13): no reply tells
which names exist, guesses are counted before they are checked (pipelined, parallel or spread over
names), a stranger cannot lock a person out, and room passwords and room ids get the same treatment.

Each test plays several client addresses from 127.0.0.0/8: the limits key on the address.
"""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from server.guess_limits import DEFAULT_LIMITS
from server.room_ids import ALPHABET, BITS
from server.storage import open_storage
from tests.raw_client import RawConnection
from tests.server_process import ServerProcess, server_process

ATTACKER, VICTIM, BYSTANDER = "127.0.0.3", "127.0.0.2", "127.0.0.4"
PASSWORD = "right-password-1"


def _first(spec: str) -> int:
    """The allowance of a rule's shortest window: "5/minute;20/hour" -> 5."""
    return int(spec.split("/")[0])


PER_NAME_AND_ADDRESS = _first(DEFAULT_LIMITS["login_per_name_and_address"])
PER_ADDRESS = _first(DEFAULT_LIMITS["login_per_address"])
REGISTRATIONS = _first(DEFAULT_LIMITS["register_per_address"])
ROOM_PASSWORDS = _first(DEFAULT_LIMITS["room_password_per_room_and_address"])
ROOM_IDS = _first(DEFAULT_LIMITS["room_id_per_address"])


@pytest.fixture
def server(tmp_path: Path):
    with server_process(tmp_path) as process:
        yield process


def _register(server: ServerProcess, name: str, source: str = BYSTANDER) -> None:
    conn = server.connect(source)
    conn.ok("register", username=name, password=PASSWORD)
    conn.close()


def _pipelined(conn: RawConnection, requests: list[dict]) -> list[dict]:
    """Send every request before reading any reply; the replies in request order."""
    for n, request in enumerate(requests):
        conn.send_json({"id": 1000 + n, **request})
    replies = {}
    while len(replies) < len(requests):
        message = conn.read_message()
        if message.get("type") == "reply":
            replies[message["id"] - 1000] = message
    return [replies[n] for n in range(len(requests))]


def _code(reply: dict) -> str:
    return reply["error"]["code"] if "error" in reply else "ok"


def test_an_unknown_name_and_a_wrong_password_get_one_answer_after_one_check(server: ServerProcess) -> None:
    _register(server, "ada")
    checks_before = server.stat_once_settled("password_checks")
    unknown = [server.connect(VICTIM).request("login", username=f"nobody-{n}", password=PASSWORD)
               for n in range(3)]
    wrong = [server.connect(VICTIM).request("login", username="ada", password=f"wrong-{n}-pw")
             for n in range(3)]
    answers = {(a["error"]["code"], a["error"]["message"]) for a in unknown + wrong}
    assert answers == {("WRONG_PASSWORD", "Wrong user name or password.")}
    # Six refusals, six argon2 checks: an unknown name is checked against a dummy hash, so its
    # answer takes as long as a wrong password's (0.6 ms against 45 ms before).
    assert server.stat_once_settled("password_checks") - checks_before == 6


def test_five_wrong_passwords_then_even_the_right_one_waits_but_only_there(server: ServerProcess) -> None:
    _register(server, "target")
    attacker = server.connect(ATTACKER)
    codes = [attacker.error_code("login", username="target", password=f"guess-{n}-pw")
             for n in range(PER_NAME_AND_ADDRESS)]
    assert codes == ["WRONG_PASSWORD"] * PER_NAME_AND_ADDRESS
    # As docs/PROTOCOL.md says: after five wrong passwords the next attempt is refused unchecked.
    refused = attacker.request("login", username="target", password=PASSWORD)["error"]
    assert refused["code"] == "RATE_LIMITED" and 1 <= refused["retry_after"] <= 60
    assert f"try again in {refused['retry_after']} s" in refused["message"]
    # The person, from their own address, is not locked out by the stranger.
    victim = server.connect(VICTIM)
    assert victim.ok("login", username="target", password=PASSWORD)["user"]["username"] == "target"


def test_pipelined_guesses_are_counted_before_they_are_checked(server: ServerProcess) -> None:
    _register(server, "piped")
    checks_before = server.stat_once_settled("password_checks")
    attacker = server.connect(ATTACKER)
    replies = _pipelined(attacker, [{"type": "login", "username": "piped", "password": f"guess-{n}-pw"}
                                    for n in range(30)])
    codes = [_code(reply) for reply in replies]
    assert codes.count("WRONG_PASSWORD") == PER_NAME_AND_ADDRESS
    assert codes.count("RATE_LIMITED") == 30 - PER_NAME_AND_ADDRESS
    assert server.stat_once_settled("password_checks") - checks_before == PER_NAME_AND_ADDRESS


def test_parallel_connections_share_one_allowance(server: ServerProcess) -> None:
    _register(server, "parallel")
    attackers = [server.connect(ATTACKER) for _ in range(20)]
    for n, conn in enumerate(attackers):
        conn.send_json({"type": "login", "id": 1, "username": "parallel", "password": f"guess-{n}-pw"})
    codes = [_code(conn.wait_reply(1)) for conn in attackers]
    assert codes.count("WRONG_PASSWORD") == PER_NAME_AND_ADDRESS
    assert codes.count("RATE_LIMITED") == 20 - PER_NAME_AND_ADDRESS


def test_one_address_spraying_many_names_is_limited_too(server: ServerProcess) -> None:
    names = [f"user-{letter}" for letter in string.ascii_lowercase[:PER_ADDRESS + 5]]
    attacker = server.connect(ATTACKER)
    replies = _pipelined(attacker, [{"type": "login", "username": name, "password": "summer2024!"}
                                    for name in names])
    codes = [_code(reply) for reply in replies]
    assert codes == ["WRONG_PASSWORD"] * PER_ADDRESS + ["RATE_LIMITED"] * 5
    # Someone else, from another address, logs in as usual.
    _register(server, "user-z", BYSTANDER)
    assert server.connect(VICTIM).ok("login", username="user-z", password=PASSWORD)


def test_registrations_are_limited_per_address(server: ServerProcess) -> None:
    attacker = server.connect(ATTACKER)
    replies = _pipelined(attacker, [{"type": "register", "username": f"bot-{n}", "password": PASSWORD}
                                    for n in range(200)])
    codes = [_code(reply) for reply in replies]
    assert codes.count("ok") == REGISTRATIONS
    assert codes.count("RATE_LIMITED") == 200 - REGISTRATIONS
    # Probing names with NAME_TAKEN uses the same allowance.
    assert attacker.error_code("register", username="bot-0", password=PASSWORD) == "RATE_LIMITED"
    # Another address registers as usual.
    assert server.connect(BYSTANDER).ok("register", username="late-comer", password=PASSWORD)


def test_get_profile_answers_strangers_alike_and_room_members_fully(server: ServerProcess) -> None:
    for name in ("ada", "bob", "eve"):
        _register(server, name)
    ada, bob, eve = (server.connect(source) for source in (VICTIM, BYSTANDER, ATTACKER))
    for conn, name in ((ada, "ada"), (bob, "bob"), (eve, "eve")):
        conn.ok("login", username=name, password=PASSWORD)
    stranger = eve.request("get_profile", username="ada")["error"]
    nobody = eve.request("get_profile", username="no-such-person")["error"]
    assert stranger == nobody and stranger["code"] == "NOT_IN_ROOM"
    assert eve.ok("get_profile")["user"]["username"] == "eve"
    room_id = ada.ok("create_room")["room"]["room_id"]
    bob.ok("join_room", room_id=room_id)
    assert bob.ok("get_profile", username="ada")["user"]["username"] == "ada"


def test_room_passwords_are_limited_as_logins_are(server: ServerProcess) -> None:
    for name in ("owner", "guesser", "friend"):
        _register(server, name)
    owner, guesser, friend = (server.connect(source) for source in (VICTIM, ATTACKER, BYSTANDER))
    for conn, name in ((owner, "owner"), (guesser, "guesser"), (friend, "friend")):
        conn.ok("login", username=name, password=PASSWORD)
    room_id = owner.ok("create_room", password="room-secret")["room"]["room_id"]
    replies = _pipelined(guesser, [{"type": "join_room", "room_id": room_id, "password": f"guess-{n}"}
                                   for n in range(ROOM_PASSWORDS + 5)])
    codes = [_code(reply) for reply in replies]
    assert codes == ["WRONG_ROOM_PASSWORD"] * ROOM_PASSWORDS + ["RATE_LIMITED"] * 5
    assert guesser.request("join_room", room_id=room_id, password="room-secret")["error"]["retry_after"] >= 1
    assert friend.ok("join_room", room_id=room_id, password="room-secret")["room"]["room_id"] == room_id


def test_room_ids_are_long_and_guessing_them_is_limited(server: ServerProcess) -> None:
    for name in ("host", "prober"):
        _register(server, name)
    host, prober = server.connect(VICTIM), server.connect(ATTACKER)
    host.ok("login", username="host", password=PASSWORD)
    prober.ok("login", username="prober", password=PASSWORD)
    room_id = host.ok("create_room")["room"]["room_id"]
    assert BITS >= 60 and len(room_id) * 4.95 >= 60 and set(room_id) <= set(ALPHABET)
    replies = _pipelined(prober, [{"type": "join_room", "room_id": f"guess{n:08d}"}
                                  for n in range(ROOM_IDS + 5)])
    codes = [_code(reply) for reply in replies]
    assert codes == ["UNKNOWN_ROOM"] * ROOM_IDS + ["RATE_LIMITED"] * 5
    # Once limited, even the right id is refused: a guesser learns nothing from the answer.
    assert prober.error_code("join_room", room_id=room_id) == "RATE_LIMITED"


def test_a_room_with_an_old_short_id_is_still_joined_by_it(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/meeting.db")
    owner_id = storage.create_user("old-owner", "$argon2id$not-a-usable-hash", "Old Owner").id
    storage.create_room("abc234", owner_id, "Made in 2025", None, True)
    storage.close()
    with server_process(tmp_path) as server:
        _register(server, "visitor")
        visitor = server.connect(VICTIM)
        visitor.ok("login", username="visitor", password=PASSWORD)
        assert visitor.ok("join_room", room_id="abc234")["room"]["title"] == "Made in 2025"


def test_guessers_on_many_addresses_fill_a_names_limit_but_its_owner_still_gets_in(tmp_path: Path) -> None:
    # The per-name limit lowered to 3 a minute, so that three guessing addresses fill it.
    with server_process(tmp_path, "--rate-limit", "login_per_name=3/minute") as server:
        _register(server, "owner")
        server.connect(VICTIM).ok("login", username="owner", password=PASSWORD)  # the owner's usual place
        for n in range(3):
            guesser = server.connect(f"127.0.2.{n + 1}")
            assert guesser.error_code("login", username="owner", password=f"guess-{n}-pw") == "WRONG_PASSWORD"
        # The name's own limit is full: a new address is refused, even with the right password...
        assert server.connect("127.0.2.9").error_code("login", username="owner", password=PASSWORD) \
            == "RATE_LIMITED"
        # ...but the owner, from where they logged in before, is not locked out.
        assert server.connect(VICTIM).ok("login", username="owner", password=PASSWORD)
