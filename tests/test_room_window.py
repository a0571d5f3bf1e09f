"""RoomWindow: toolbar toggles reach the controller; status, banner and title show what is going on."""

from __future__ import annotations

import os

from PyQt5.QtWidgets import QAction, QApplication, QLabel, QToolBar

from qt_client.ui.room_window import RoomWindow

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_window(qtbot) -> RoomWindow:
    window = RoomWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def click_toolbar(window: RoomWindow, action: QAction) -> None:
    window.findChild(QToolBar, "toolbar").widgetForAction(action).click()


def test_toolbar_toggles_emit_their_state(qtbot):
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
            click_toolbar(window, action)
        assert blocker.args == [expected], name


def test_leave_action_and_closing_the_window_request_leaving(qtbot):
    window = make_window(qtbot)
    with qtbot.waitSignal(window.leave_requested, timeout=1000):
        click_toolbar(window, window.findChild(QAction, "action_leave"))
    with qtbot.assertNotEmitted(window.leave_requested):
        window.close()  # the controller closing it after leaving is not a second leave


def test_status_bar_shows_state_rtt_fps_and_drops(qtbot):
    window = make_window(qtbot)
    window.set_status("connected", 23.4, 14.96, 7)
    text = window.findChild(QLabel, "status").text()
    assert "connected" in text and "23 ms" in text and "15.0 fps" in text and "7 dropped" in text
    window.set_status("connecting", None, 0.0, 0)
    assert "n/a" in window.findChild(QLabel, "status").text()


def test_reconnecting_banner(qtbot):
    window = make_window(qtbot)
    banner = window.findChild(QLabel, "reconnecting_banner")
    assert not banner.isVisible()
    window.set_reconnecting(True)
    assert banner.isVisible() and "Reconnecting" in banner.text()
    window.set_reconnecting(False)
    assert not banner.isVisible()


def test_title_shows_room_and_copy_id(qtbot):
    window = make_window(qtbot)
    window.set_room({"room_id": "abc234", "title": "Standup", "owner_id": 1, "persistent": False,
                     "has_password": False})
    assert "Standup" in window.windowTitle() and "abc234" in window.windowTitle()
    QApplication.clipboard().setText("something else")
    click_toolbar(window, window.findChild(QAction, "action_copy_id"))
    assert QApplication.clipboard().text() == "abc234"


def test_grid_and_chat_are_both_visible(qtbot):
    window = make_window(qtbot)
    assert window.grid.isVisible() and window.chat.isVisible()
    assert window.grid.width() > window.chat.width()
