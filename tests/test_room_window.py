"""RoomWindow: controls that always fit, shortcuts, a confirmed leave, banners, chat toggle and status."""

from __future__ import annotations

import os

import pytest
from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtWidgets import QAction, QApplication, QLabel

from qt_client.ui.room_window import RoomWindow
from tests.desktop_support import answer_leave

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

CONTROLS = ["action_mic", "action_camera", "action_screen", "action_face", "action_view", "action_chat",
            "action_settings", "action_fullscreen", "action_copy_id", "action_leave"]


def make_window(qtbot, width: int = 1280, height: int = 720) -> RoomWindow:
    window = RoomWindow()
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    return window


def test_controls_toggle_and_emit_their_state(qtbot):
    window = make_window(qtbot)
    # Microphone and camera start on, so the first click turns them off; the others start off.
    cases = [
        ("action_mic", window.microphone_toggled, False),
        ("action_camera", window.camera_toggled, False),
        ("action_screen", window.screen_share_toggled, True),
        ("action_face", window.face_effect_toggled, True),
    ]
    for name, signal, expected in cases:
        action = window.findChild(QAction, name)
        assert action.isCheckable()
        with qtbot.waitSignal(signal, timeout=1000) as blocker:
            window.button_for(action).click()
        assert blocker.args == [expected], name
    assert window.button_for(window.action_mic).text() == "Unmute"  # says what a click will do
    with qtbot.waitSignal(window.settings_requested, timeout=1000):
        window.button_for(window.action_settings).click()


@pytest.mark.parametrize("size", [(800, 600), (1280, 720)])
def test_every_control_is_on_screen_and_leave_works(qtbot, size):
    window = make_window(qtbot, *size)
    qtbot.waitUntil(lambda: window.size().width() == size[0], timeout=2000)
    inside = window.rect()

    def all_inside() -> bool:
        for name in CONTROLS:
            button = window.button_for(window.findChild(QAction, name))
            top_left = button.mapTo(window, QPoint(0, 0))
            bottom_right = button.mapTo(window, QPoint(button.width() - 1, button.height() - 1))
            if not (button.isVisible() and inside.contains(top_left) and inside.contains(bottom_right)):
                return False
            if button.width() < button.sizeHint().width():
                return False  # squeezed: its label would be cut
        return True

    qtbot.waitUntil(all_inside, timeout=2000)
    assert window.controls.compact == (size[0] < 1000)
    leave = window.button_for(window.action_leave)
    asked = answer_leave(True)
    with qtbot.waitSignal(window.leave_requested, timeout=3000):
        qtbot.mouseClick(leave, Qt.LeftButton)
    assert asked == ["Leave the meeting?"]


def test_window_never_shrinks_below_what_the_controls_need(qtbot):
    window = make_window(qtbot)
    window.resize(500, 500)
    qtbot.waitUntil(lambda: window.width() >= window.controls.minimumSizeHint().width(), timeout=2000)
    leave = window.button_for(window.action_leave)
    assert window.rect().contains(leave.mapTo(window, QPoint(leave.width() - 1, 0)))


def test_leaving_asks_first_and_cancel_stays(qtbot):
    window = make_window(qtbot)
    answer_leave(False)
    with qtbot.assertNotEmitted(window.leave_requested, wait=100):
        window.button_for(window.action_leave).click()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    asked = answer_leave(True)
    with qtbot.waitSignal(window.leave_requested, timeout=3000):
        qtbot.keyClick(window, Qt.Key_W, Qt.ControlModifier)
    assert asked == ["Leave the meeting?"]


def test_closing_by_hand_asks_and_closing_by_the_program_does_not(qtbot):
    window = make_window(qtbot)
    asked = answer_leave(False)
    with qtbot.assertNotEmitted(window.leave_requested, wait=100):
        window.windowHandle().close()  # what the title bar's close button does
    assert asked and window.isVisible()
    answer_leave(True)
    with qtbot.waitSignal(window.leave_requested, timeout=3000):
        window.windowHandle().close()
    assert not window.isVisible()
    window.show()
    with qtbot.assertNotEmitted(window.leave_requested):
        window.close()  # the controller closing it after leaving is not a second leave
    assert not window.isVisible() and QApplication.activeModalWidget() is None


def test_keyboard_shortcuts_and_their_tooltips(qtbot):
    window = make_window(qtbot)
    cases = [
        (window.action_mic, window.microphone_toggled, Qt.Key_D, Qt.ControlModifier, "Ctrl+D"),
        (window.action_camera, window.camera_toggled, Qt.Key_E, Qt.ControlModifier, "Ctrl+E"),
        (window.action_screen, window.screen_share_toggled, Qt.Key_S, Qt.ControlModifier | Qt.ShiftModifier,
         "Ctrl+Shift+S"),
    ]
    for action, signal, key, modifiers, text in cases:
        with qtbot.waitSignal(signal, timeout=1000):
            qtbot.keyClick(window, key, modifiers)
        assert text in window.button_for(action).toolTip()
    assert "Ctrl+W" in window.button_for(window.action_leave).toolTip()
    assert "F11" in window.button_for(window.action_fullscreen).toolTip()


def test_full_screen_with_f11_and_escape(qtbot):
    window = make_window(qtbot)
    qtbot.keyClick(window, Qt.Key_F11)
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    assert window.action_fullscreen.isChecked()
    qtbot.keyClick(window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)
    assert not window.action_fullscreen.isChecked()
    window.button_for(window.action_fullscreen).click()
    qtbot.waitUntil(window.isFullScreen, timeout=2000)
    window.button_for(window.action_fullscreen).click()
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=2000)


def test_chat_button_hides_the_chat_and_counts_unread(qtbot):
    window = make_window(qtbot)
    chat_button = window.button_for(window.action_chat)
    assert window.chat.isVisible() and chat_button.text() == "Chat"
    grid_width = window.grid.width()
    chat_button.click()
    assert not window.chat.isVisible()
    qtbot.waitUntil(lambda: window.grid.width() > grid_width, timeout=2000)
    for text in ("one", "two", "three"):
        window.chat.append_message({"user_id": 2, "username": "bob", "text": text, "sent_at": 0.0})
    assert chat_button.text() == "Chat (3)"
    chat_button.click()
    assert window.chat.isVisible() and chat_button.text() == "Chat"


def test_view_button_switches_speaker_and_grid(qtbot):
    window = make_window(qtbot)
    for user_id in (1, 2, 3):
        window.grid.add_tile(user_id, f"user{user_id}")
    view = window.button_for(window.action_view)
    assert view.text() == "Speaker view"
    view.click()
    assert window.grid.view_mode == "speaker" and view.text() == "Grid view"
    window.grid.set_view_mode("grid")  # changed elsewhere: the button follows
    assert not window.action_view.isChecked() and view.text() == "Speaker view"


def test_status_bar_says_it_in_words(qtbot):
    window = make_window(qtbot)
    window.set_status("connected", 23.4, 14.96, 7)
    text = window.findChild(QLabel, "status").text()
    assert text.startswith("Connected") and "round trip 23 ms" in text
    assert "receiving 15.0 frames a second" in text and "7 late frames skipped" in text
    window.set_status("connecting", None, 0.0, 0)
    text = window.findChild(QLabel, "status").text()
    assert "Connecting" in text and "round trip unknown" in text and "skipped" not in text


def test_banners_reconnecting_presenter_and_own_sharing(qtbot):
    window = make_window(qtbot)
    banner = window.findChild(QLabel, "reconnecting_banner")
    assert not banner.isVisible()
    window.set_reconnecting(True)
    assert banner.isVisible() and "Reconnecting" in banner.text()
    window.set_reconnecting(False)
    assert not banner.isVisible()

    window.set_presenter("Ada")
    assert window.presenter_banner.isVisible() and window.presenter_banner.text() == "Ada is presenting"
    window.set_presenter(None)
    assert not window.presenter_banner.isVisible()

    with qtbot.assertNotEmitted(window.screen_share_toggled):
        window.set_sharing(True)  # the controller reports a state; it is not a request
    assert window.sharing_banner.isVisible() and window.action_screen.isChecked()
    assert window.button_for(window.action_screen).text() == "Stop sharing"
    with qtbot.waitSignal(window.screen_share_toggled, timeout=1000) as blocker:
        qtbot.mouseClick(window.stop_sharing_button, Qt.LeftButton)
    assert blocker.args == [False]
    assert not window.sharing_banner.isVisible() and not window.action_screen.isChecked()
    window.button_for(window.action_screen).click()  # starting to share shows it at once
    assert window.sharing_banner.isVisible()


def test_title_shows_room_and_copy_id(qtbot):
    window = make_window(qtbot)
    window.set_room({"room_id": "abc234", "title": "Standup", "owner_id": 1, "persistent": False,
                     "has_password": False})
    assert "Standup" in window.windowTitle() and "abc234" in window.windowTitle()
    QApplication.clipboard().setText("something else")
    window.button_for(window.action_copy_id).click()
    assert QApplication.clipboard().text() == "abc234"


def test_grid_and_chat_are_both_visible(qtbot):
    window = make_window(qtbot)
    assert window.grid.isVisible() and window.chat.isVisible()
    assert window.grid.width() > window.chat.width()
