"""CallMedia: the receiver is told which streams have a tile on screen, and at what size."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt

from protocol.media import MediaSource
from qt_client.call_media import CallMedia
from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.room_window import RoomWindow


def members(count: int) -> list[dict[str, Any]]:
    return [{"user_id": uid, "username": f"user{uid}", "display_name": "", "microphone": True, "camera": True,
             "screen": uid == 12, "avatar": ""} for uid in range(1, count + 1)]


def test_only_streams_on_screen_are_asked_for_at_their_tile_size(qtbot: Any, tmp_path: Any) -> None:
    room = RoomWindow()
    qtbot.addWidget(room)
    room.resize(1280, 720)
    room.set_local_user(1)
    media = CallMedia(ClientSettings(str(tmp_path / "c.ini")), room)
    media.local_user = 1
    told: list[dict] = []
    media._receiver_shown.connect(told.append)  # what the receive worker's set_shown would get
    room.show()
    qtbot.waitExposed(room)
    room.grid.set_members(members(12))  # user 12 presents: their screen takes the big area
    room.grid.set_view_mode("grid")
    qtbot.waitUntil(lambda: bool(told), timeout=2000)
    shown = told[-1]
    screen = {key for key in shown if key[1] is MediaSource.SCREEN}
    cameras = {key[0] for key in shown if key[1] is MediaSource.CAMERA}
    assert screen == {(12, MediaSource.SCREEN)}
    assert 1 not in cameras  # one's own picture is never received
    assert 0 < len(cameras) < 11  # a strip of some, not all eleven others
    assert all(width > 0 and height > 0 for width, height in shown.values())
    # A bigger presentation tile than any camera tile: decoded at its own size.
    assert shown[12, MediaSource.SCREEN][0] > max(shown[uid, MediaSource.CAMERA][0] for uid in cameras)

    room.grid.set_members([{**m, "screen": False} for m in members(12)])  # nobody presents: a grid of 9
    qtbot.waitUntil(lambda: not any(key[1] is MediaSource.SCREEN for key in told[-1]), timeout=2000)
    first_page = {key[0] for key in told[-1]}
    visible = room.grid.visible_user_ids()
    assert len(visible) == 9 and first_page == visible - {1}
    qtbot.mouseClick(room.grid.grid_pager.next_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: {key[0] for key in told[-1]} != first_page, timeout=2000)
    second_page = {key[0] for key in told[-1]}
    assert first_page.isdisjoint(second_page) and first_page | second_page | {1} == set(range(1, 13))
