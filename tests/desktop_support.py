"""What the desktop client's end-to-end tests share: logging in through the windows, a guest
client, and answering the "Leave the meeting?" question."""

from __future__ import annotations

import queue
from typing import Any

from PyQt5.QtCore import QPoint, Qt, QTimer
from PyQt5.QtWidgets import QApplication, QMessageBox, QPushButton

from qt_client.net import MeetingClient
from tests.tls_support import meeting_client

PASSWORD = "secret-pw"


def log_in(qtbot: Any, app: Any, server: Any, user: str, register: bool = True) -> None:
    login = app.login_window
    login.server_edit.setText(f"127.0.0.1:{server.control_port}")
    login.user_edit.setText(user)
    login.password_edit.setText(PASSWORD)
    qtbot.mouseClick(login.register_button if register else login.login_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: app.lobby.isVisible(), timeout=10_000)


def create_room(qtbot: Any, app: Any, persistent: bool = False) -> str:
    app.lobby.create_title_edit.setText("Desk test")
    app.lobby.persistent_check.setChecked(persistent)
    qtbot.mouseClick(app.lobby.create_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: app.room_window.isVisible(), timeout=10_000)
    return app.room_window.room_id


def join_room(qtbot: Any, app: Any, room_id: str) -> None:
    app.lobby.join_id_edit.setText(room_id)
    qtbot.mouseClick(app.lobby.join_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: app.room_window.isVisible(), timeout=10_000)


def guest(server: Any, room_id: str, name: str = "guest") -> MeetingClient:
    client = meeting_client("127.0.0.1", server.control_port)
    client.connect()
    client.register(name, PASSWORD)
    client.login(name, PASSWORD)
    client.join_room(room_id)
    return client


def answer_leave(leave: bool) -> list[str]:
    """Answers the next "Leave the meeting?" box once it is up; returns its text, for the test to check."""
    asked: list[str] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(10, answer)
            return
        asked.append(box.text())
        button = box.findChild(QPushButton, "confirm_leave") if leave else box.button(QMessageBox.Cancel)
        button.click()

    QTimer.singleShot(0, answer)
    return asked


def drain_frames(frames: queue.Queue) -> list[tuple[Any, Any]]:
    """Everything a media queue holds now, emptied."""
    out = []
    while True:
        try:
            out.append(frames.get_nowait())
        except queue.Empty:
            return out


def double_click(qtbot: Any, widget: Any, pos: QPoint | None = None) -> None:
    """What a real double click delivers: press, release, double-click press, release."""
    pos = pos or QPoint(20, 20)
    qtbot.mousePress(widget, Qt.LeftButton, pos=pos)
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=pos)
    qtbot.mouseDClick(widget, Qt.LeftButton, pos=pos)
    qtbot.mouseRelease(widget, Qt.LeftButton, pos=pos)
