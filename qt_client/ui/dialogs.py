"""Message boxes that never block: a modal exec_() would stall the event loop that carries the meeting."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QMessageBox, QWidget

LOGGED_IN_ELSEWHERE_TEXT = (
    "This session has ended because your account logged in somewhere else.\n"
    "Only one session per account can be live; log in again here to take it back."
)


def show_error_dialog(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """Opens a warning box and returns at once; the box deletes itself when dismissed."""
    box = QMessageBox(QMessageBox.Warning, title, text, QMessageBox.Ok, parent)
    # The text may quote the server or another person (a room title, a name): never markup.
    box.setTextFormat(Qt.PlainText)
    box.setAttribute(Qt.WA_DeleteOnClose)
    box.open()
    return box


def show_logged_in_elsewhere(parent: QWidget | None) -> QMessageBox:
    """Tells the user why they are back at the login window instead of leaving them guessing."""
    return show_error_dialog(parent, "Logged in elsewhere", LOGGED_IN_ELSEWHERE_TEXT)
