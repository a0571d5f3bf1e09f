"""room_events: the chat's notices of who came, went and presented."""

from qt_client.room_events import by_id, presenter_name, room_events

ADA = {"user_id": 1, "username": "ada", "display_name": "Ada Lovelace", "screen": False}
BOB = {"user_id": 2, "username": "bob", "display_name": "", "screen": False}
ME = {"user_id": 9, "username": "me", "display_name": "Me", "screen": False}


def test_joins_and_leaves_use_display_names_and_leave_me_out() -> None:
    before = by_id([ME, ADA])
    after = by_id([ME, BOB])
    assert room_events(before, after, me=9) == ["bob joined", "Ada Lovelace left"]
    assert room_events({}, by_id([ME]), me=9) == []


def test_presenting_starts_and_stops() -> None:
    sharing = {**ADA, "screen": True}
    assert room_events(by_id([ADA]), by_id([sharing]), me=9) == ["Ada Lovelace started presenting"]
    assert room_events(by_id([sharing]), by_id([ADA]), me=9) == ["Ada Lovelace stopped presenting"]
    assert room_events({}, by_id([sharing]), me=9) == ["Ada Lovelace joined",
                                                       "Ada Lovelace started presenting"]
    assert presenter_name(by_id([ME, sharing]), me=9) == "Ada Lovelace"
    assert presenter_name(by_id([{**ME, "screen": True}]), me=9) is None
