"""Names and texts against a real server process: one account per name as people read it, no
look-alike names, no invisible or direction-changing characters in what others are shown, and
no display name that passes for someone else's user name."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest

from protocol import PROTOCOL_VERSION
from tests.raw_client import Participant, RawConnection
from tests.server_process import server_process

PASSWORD = "correct horse battery"
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467"  # one emoji: three people joined by ZWJs
HIDING = {
    "NUL": "\x00", "ESC": "\x1b[31m", "bell": "\x07", "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066", "zero-width space": "\u200b", "zero-width non-joiner": "\u200c",
    "byte order mark": "\ufeff", "soft hyphen": "\u00ad", "hangul filler": "\u3164",
    "line separator": "\u2028", "carriage return": "\r",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    # Dozens of accounts from one address: the registration limit is not what these tests are about.
    directory = tmp_path_factory.mktemp("names")
    with server_process(directory, "--rate-limit", "register_per_address=none") as process:
        yield process


def _full_width(ascii_text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) for ch in ascii_text)


def _hello(server: Any) -> RawConnection:
    conn = RawConnection(server.control_port)
    conn.ok("hello", version=PROTOCOL_VERSION)
    return conn


def _refusal(conn: RawConnection, kind: str, **fields: Any) -> dict[str, str]:
    answer = conn.request(kind, **fields)
    assert "error" in answer, (kind, fields, answer)
    return answer["error"]


def test_nfc_nfd_and_case_forms_of_a_name_are_one_account(server: Any) -> None:
    conn = _hello(server)
    composed = unicodedata.normalize("NFC", "Amélie")
    decomposed = unicodedata.normalize("NFD", "Amélie")
    assert composed != decomposed
    user_id = conn.ok("register", username=composed, password=PASSWORD)["user_id"]
    for other_form in (decomposed, "amélie", "AMÉLIE", unicodedata.normalize("NFD", "AMÉLIE")):
        assert _refusal(conn, "register", username=other_form, password=PASSWORD)["code"] == "NAME_TAKEN"
    # Whichever form she types, she logs in to the one account, shown as she registered it.
    for typed in (decomposed, "AMÉLIE", composed):
        login = _hello(server).ok("login", username=typed, password=PASSWORD)
        assert login["user"]["user_id"] == user_id and login["user"]["username"] == composed
    # Full-width letters are the same name too.
    conn.ok("register", username="Kenji", password=PASSWORD)
    wide = _full_width("KENJI")
    assert _refusal(conn, "register", username=wide, password=PASSWORD)["code"] == "NAME_TAKEN"


def test_a_name_with_a_look_alike_letter_from_another_script_is_refused(server: Any) -> None:
    conn = _hello(server)
    conn.ok("register", username="paypal", password=PASSWORD)
    for impostor in ("p\u0430ypal", "\u0440aypal", "payp\u0430l1", "\u0391lice"):  # Cyrillic a, r; Greek A
        error = _refusal(conn, "register", username=impostor, password=PASSWORD)
        assert error["code"] == "INVALID_NAME" and "look like another name" in error["message"], error
    # One script at a time is fine, Cyrillic or Latin, and so is Latin beside Han.
    for honest in ("\u0438\u0432\u0430\u043d", "ivan", "tanaka\u65e5\u672c"):
        assert conn.ok("register", username=honest, password=PASSWORD)["user_id"]


@pytest.mark.parametrize("name, why", [
    ("two words", "spaces"), ("bad\x00name", "control"), ("rtl\u202ename", "letters"),
    ("zero\u200bwidth", "letters"), ("fox\U0001F98A", "emoji"), ("", "empty"), ("x" * 33, "32"),
])
def test_user_names_that_could_deceive_are_refused_with_a_reason(server: Any, name: str, why: str) -> None:
    error = _refusal(_hello(server), "register", username=name, password=PASSWORD)
    assert error["code"] == "INVALID_NAME" and why in error["message"], error


@pytest.mark.parametrize("what", sorted(HIDING))
def test_hiding_characters_are_refused_in_every_shown_text(server: Any, what: str) -> None:
    person = Participant(server, f"hider{sorted(HIDING).index(what)}", password=PASSWORD)
    bad = f"a{HIDING[what]}b"
    for kind, field in (("update_profile", "display_name"), ("update_profile", "signature"),
                        ("create_room", "title")):
        error = _refusal(person.control, kind, **{field: bad})
        assert error["code"] == "BAD_REQUEST" and f"U+{ord(HIDING[what][0]):04X}" in error["message"], error
    error = _refusal(_hello(server), "register", username=f"reg{sorted(HIDING).index(what)}",
                     password=PASSWORD, display_name=bad)
    assert error["code"] == "BAD_REQUEST", error
    person.control.ok("create_room", title="Plain")
    assert _refusal(person.control, "chat", text=bad)["code"] == "BAD_REQUEST"
    person.close()


def test_texts_are_trimmed_and_chat_keeps_line_breaks_and_emoji(server: Any) -> None:
    person = Participant(server, "trimmer", password=PASSWORD)
    user = person.control.ok("update_profile", display_name="  Trim Me \t",
                             signature="\n hi there \n")["user"]
    assert (user["display_name"], user["signature"]) == ("Trim Me", "hi there")
    room = person.control.ok("create_room", title="  Standup  ")["room"]
    assert room["title"] == "Standup"
    person.control.ok("chat", text=f"  first line\nsecond line, with a family: {FAMILY} ")
    chat = person.control.wait_push("chat")
    assert chat["text"] == f"first line\nsecond line, with a family: {FAMILY}"
    assert _refusal(person.control, "chat", text=" \n ")["code"] == "BAD_REQUEST"
    person.close()


def test_a_display_name_may_not_be_another_users_user_name(server: Any) -> None:
    Participant(server, "Victim", password=PASSWORD).close()
    mallory = Participant(server, "mallory", password=PASSWORD)
    for copy in ("Victim", "victim", "VICTIM", _full_width("VICTIM")):
        error = _refusal(mallory.control, "update_profile", display_name=copy)
        assert error["code"] == "BAD_REQUEST" and "user name" in error["message"], error
    error = _refusal(_hello(server), "register", username="mallory2", password=PASSWORD,
                     display_name="victim")
    assert error["code"] == "BAD_REQUEST"
    # Her own name in any case is hers to show; so is a name nobody has.
    assert mallory.control.ok("update_profile", display_name="MALLORY")["user"]["display_name"] == "MALLORY"
    fan = mallory.control.ok("update_profile", display_name="Victim Fan")["user"]
    assert fan["display_name"] == "Victim Fan"
    assert _hello(server).ok("register", username="Walter", password=PASSWORD, display_name="WALTER")
    mallory.close()
