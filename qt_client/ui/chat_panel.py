"""The room's text chat: what was said, by whom and when, and a line to say something."""

from __future__ import annotations

import html
import time
from typing import Any

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget

MAX_CHAT_CHARS = 2000  # the server refuses longer messages


def format_time(sent_at: float) -> str:
    """HH:MM in the local time zone, from the server's epoch timestamp."""
    return time.strftime("%H:%M", time.localtime(sent_at))


class ChatPanel(QWidget):
    """Shows messages as the server relays them (our own too), so everyone sees the same order."""

    send_requested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.messages = QTextBrowser()
        self.messages.setObjectName("messages")
        self.messages.setOpenExternalLinks(True)
        self.input = QLineEdit()
        self.input.setObjectName("input")
        self.input.setPlaceholderText("Message everyone")
        self.input.setMaxLength(MAX_CHAT_CHARS)
        self.send_button = QPushButton("Send")
        self.input.returnPressed.connect(self._send)
        self.send_button.clicked.connect(self._send)
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.messages, 1)
        layout.addLayout(row)

    def append_message(self, chat: dict[str, Any]) -> None:
        # Escaped: a message is someone else's text, never markup for our window.
        stamp = format_time(float(chat.get("sent_at") or time.time()))
        name = html.escape(str(chat.get("username", "?")))
        text = html.escape(str(chat.get("text", "")))
        self.messages.append(f'<span style="color:#888">{stamp}</span> <b>{name}:</b> {text}')

    def add_notice(self, text: str) -> None:
        self.messages.append(f'<i style="color:#888">{html.escape(text)}</i>')

    def clear(self) -> None:
        """Empties the list, for a new room."""
        self.messages.clear()

    def _send(self) -> None:
        text = self.input.text().strip()
        if not text:
            return
        self.input.clear()
        self.send_requested.emit(text)
