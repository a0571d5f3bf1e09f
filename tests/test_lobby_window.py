"""LobbyWindow: profile, creating and joining rooms, as a user clicks through them."""

from __future__ import annotations

import base64
import os

from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PyQt5.QtGui import QColor, QImage

from qt_client.ui.lobby_window import LobbyWindow

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

PROFILE = {"user_id": 7, "username": "ada", "display_name": "Ada Lovelace", "signature": "hi", "avatar": ""}
ROOMS = [
    {"room_id": "abc234", "title": "Standup", "owner_id": 7, "persistent": True, "has_password": False,
     "members": 3},
    {"room_id": "xyz789", "title": "Secret", "owner_id": 8, "persistent": True, "has_password": True,
     "members": 1},
]


def make_window(qtbot) -> LobbyWindow:
    window = LobbyWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_set_profile_fills_fields_and_draws_initials(qtbot):
    window = make_window(qtbot)
    window.set_profile(PROFILE)
    assert window.display_name_edit.text() == "Ada Lovelace"
    assert window.signature_edit.text() == "hi"
    pixmap = window.avatar_label.pixmap()
    assert pixmap is not None and pixmap.width() == 64
    centre = pixmap.toImage().pixelColor(32, 32)
    assert centre.alpha() == 255  # a filled circle, not an empty label


def test_profile_avatar_image_is_shown(qtbot):
    window = make_window(qtbot)
    image = QImage(64, 64, QImage.Format_RGB32)
    image.fill(QColor("red"))
    png = tmp_png_bytes(image)
    window.set_profile({**PROFILE, "avatar": base64.b64encode(png).decode()})
    shown = window.avatar_label.pixmap().toImage().pixelColor(32, 32)
    assert (shown.red(), shown.green(), shown.blue()) == (255, 0, 0)


def tmp_png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def test_save_profile_emits_edited_values_and_no_avatar_change(qtbot):
    window = make_window(qtbot)
    window.set_profile(PROFILE)
    window.display_name_edit.clear()
    qtbot.keyClicks(window.display_name_edit, "Countess")
    with qtbot.waitSignal(window.profile_save_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.save_profile_button, Qt.LeftButton)
    assert blocker.args == ["Countess", "hi", None]


def test_chosen_avatar_is_scaled_small_png(qtbot, tmp_path):
    window = make_window(qtbot)
    big = QImage(1000, 500, QImage.Format_RGB32)
    # Noise so the PNG cannot compress to nothing: the 256 KiB limit must really be met.
    for y in range(0, 500, 5):
        for x in range(0, 1000, 5):
            big.setPixelColor(x, y, QColor((x * 7 + y * 13) % 256, (x * y) % 256, (x + y) % 256))
    path = tmp_path / "me.png"
    assert big.save(str(path))
    assert window.load_avatar(str(path))
    with qtbot.waitSignal(window.profile_save_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.save_profile_button, Qt.LeftButton)
    png = blocker.args[2]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) <= 256 * 1024
    decoded = QImage.fromData(png)
    assert (decoded.width(), decoded.height()) == (256, 256)  # the middle square, not stretched


def test_unreadable_avatar_file_shows_error(qtbot, tmp_path):
    window = make_window(qtbot)
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    assert not window.load_avatar(str(path))
    assert window.message_label.isVisible() and "avatar" in window.message_label.text()


def test_create_room_emits_title_password_and_keep(qtbot):
    window = make_window(qtbot)
    qtbot.keyClicks(window.create_title_edit, "Standup")
    qtbot.keyClicks(window.create_password_edit, "pw")
    window.persistent_check.setChecked(True)
    with qtbot.waitSignal(window.create_room_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.create_button, Qt.LeftButton)
    assert blocker.args == ["Standup", "pw", True]


def test_join_by_id(qtbot):
    window = make_window(qtbot)
    qtbot.keyClicks(window.join_id_edit, " ABC234 ")
    with qtbot.waitSignal(window.join_room_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.join_button, Qt.LeftButton)
    assert blocker.args == ["abc234", ""]


def test_join_without_id_tells_the_user(qtbot):
    window = make_window(qtbot)
    with qtbot.assertNotEmitted(window.join_room_requested):
        qtbot.mouseClick(window.join_button, Qt.LeftButton)
    assert window.message_label.isVisible()


def test_room_list_shows_rooms_and_double_click_joins(qtbot):
    window = make_window(qtbot)
    window.set_rooms(ROOMS)
    texts = [window.room_list.item(i).text() for i in range(window.room_list.count())]
    assert "Standup" in texts[0] and "abc234" in texts[0] and "3 people" in texts[0]
    assert "Secret" in texts[1] and "1 person" in texts[1]
    assert window.room_list.item(0).icon().isNull() and not window.room_list.item(1).icon().isNull()  # lock
    item = window.room_list.item(0)
    with qtbot.waitSignal(window.join_room_requested, timeout=1000) as blocker:
        window.room_list.itemDoubleClicked.emit(item)
    assert blocker.args == ["abc234", ""]


def test_locked_room_asks_for_password_then_joins(qtbot):
    window = make_window(qtbot)
    window.set_rooms(ROOMS)
    window.room_list.setCurrentRow(1)
    with qtbot.assertNotEmitted(window.join_room_requested):
        qtbot.mouseClick(window.join_listed_button, Qt.LeftButton)
    assert "password" in window.message_label.text()
    qtbot.keyClicks(window.join_password_edit, "sesame")
    with qtbot.waitSignal(window.join_room_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.join_listed_button, Qt.LeftButton)
    assert blocker.args == ["xyz789", "sesame"]


def test_refresh_and_logout_buttons(qtbot):
    window = make_window(qtbot)
    with qtbot.waitSignal(window.rooms_refresh_requested, timeout=1000):
        qtbot.mouseClick(window.refresh_button, Qt.LeftButton)
    with qtbot.waitSignal(window.logout_requested, timeout=1000):
        qtbot.mouseClick(window.logout_button, Qt.LeftButton)


def test_info_and_error_messages_differ_in_colour(qtbot):
    window = make_window(qtbot)
    window.show_info("Profile saved")
    info = window.message_label.palette().color(window.message_label.foregroundRole())
    window.show_error("Room not found")
    error = window.message_label.palette().color(window.message_label.foregroundRole())
    assert window.message_label.text() == "Room not found"
    assert info.green() > info.red() and error.red() > error.green()


def test_profile_saved_only_when_the_server_says_so_and_later_edits_are_kept(qtbot, tmp_path):
    window = make_window(qtbot)
    window.set_profile(PROFILE)
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    for path, colour in ((first, "#ff0000"), (second, "#0000ff")):
        image = QImage(300, 300, QImage.Format_RGB32)
        image.fill(QColor(colour))
        assert image.save(str(path))
    assert window.load_avatar(str(first))
    assert "Save profile" in window.message_label.text()  # chosen is not saved, and it says so
    with qtbot.waitSignal(window.profile_save_requested, timeout=1000) as sent:
        qtbot.mouseClick(window.save_profile_button, Qt.LeftButton)
    assert window.message_label.text() == "Saving profile…" and not window.save_profile_button.isEnabled()
    assert window.load_avatar(str(second))  # chosen while the first save is on its way
    window.profile_saved({**PROFILE, "avatar": base64.b64encode(sent.args[2]).decode()})
    assert "press Save profile" in window.message_label.text()
    with qtbot.waitSignal(window.profile_save_requested, timeout=1000) as again:
        qtbot.mouseClick(window.save_profile_button, Qt.LeftButton)
    blue = QImage.fromData(again.args[2]).pixelColor(10, 10)
    assert (blue.red(), blue.blue()) == (0, 255)  # the second avatar was not lost
    window.profile_save_failed("The avatar must be a PNG or JPEG image.")
    assert window.save_profile_button.isEnabled() and "PNG or JPEG" in window.message_label.text()


def test_more_rooms_asks_for_the_next_page_and_adds_it_below(qtbot):
    window = make_window(qtbot)
    window.show()
    window.set_rooms(ROOMS[:1], "cursor-1")
    assert window.more_rooms_button.isVisible()
    with qtbot.waitSignal(window.more_rooms_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.more_rooms_button, Qt.LeftButton)
    assert blocker.args == ["cursor-1"]
    assert not window.more_rooms_button.isEnabled()  # until the page arrives
    window.add_rooms(ROOMS, None)  # the first room again (a page asked for twice) is not doubled
    texts = [window.room_list.item(i).text() for i in range(window.room_list.count())]
    assert len(texts) == 2 and "Standup" in texts[0] and "Secret" in texts[1]
    assert not window.more_rooms_button.isVisible()
    window.set_rooms(ROOMS)  # a refresh starts again from the first page
    assert window.room_list.count() == 2 and not window.more_rooms_button.isVisible()
