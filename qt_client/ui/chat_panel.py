"""The room's text chat: what was said, by whom and when, and a line to say something.

Public API (ChatPanel):
    signals   send_requested(local_id: str, text: str)  the user sent text; local_id names it until
                                                         the server has it (add_pending / mark_sent)
              retry_requested(local_id: str)             Retry clicked on a message that was not sent
              unread_changed(int)                        messages arrived while the chat was unseen
    history   append_message(chat), add_event(text), add_notice(text), clear(), set_avatar(uid, bytes)
    outbox    add_pending(local_id, text), mark_sent(local_id), mark_failed(local_id), pending_ids
    unread    unread_count, mark_read(), set_local_user(uid) (one's own messages are never unread)

The controller calls add_pending for a message it could not hand to the server at once, mark_sent
when it has (the server's echo then shows the real line), mark_failed when it gave up. Retry puts
the line back to "sending…" and emits retry_requested.
"""

from __future__ import annotations

import html
import itertools
import time
from typing import Any

from PyQt5.QtCore import QEvent, QObject, Qt, QUrl, pyqtSignal
from PyQt5.QtGui import QPixmap, QShowEvent, QTextDocument
from PyQt5.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from qt_client.ui.avatar_pixmap import initials_pixmap
from qt_client.ui.pending_message import PendingMessage

MAX_CHAT_CHARS = 2000  # the server refuses longer messages
AVATAR_SIDE = 20


def format_time(sent_at: float) -> str:
    """HH:MM in the local time zone, from the server's epoch timestamp."""
    return time.strftime("%H:%M", time.localtime(sent_at))


def _avatar_url(user_id: int) -> QUrl:
    return QUrl(f"avatar:{user_id}")


class ChatPanel(QWidget):
    """Shows messages as the server relays them (our own too), so everyone sees the same order."""

    send_requested = pyqtSignal(str, str)
    retry_requested = pyqtSignal(str)
    unread_changed = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._local_ids = (f"local-{n}" for n in itertools.count(1))
        self._pending: dict[str, PendingMessage] = {}
        self._avatars: set[int] = set()  # user ids whose picture (or initials) the document holds
        self._local_user: int | None = None
        self._unread = 0
        self._watched_window: QWidget | None = None
        self.messages = QTextBrowser()
        self.messages.setObjectName("messages")
        self.messages.setOpenExternalLinks(True)
        self.outbox = QWidget()
        self.outbox.setObjectName("outbox")
        self._outbox_layout = QVBoxLayout(self.outbox)
        self._outbox_layout.setContentsMargins(0, 0, 0, 0)
        self._outbox_layout.setSpacing(0)
        self.outbox.hide()
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
        layout.addWidget(self.outbox)
        layout.addLayout(row)

    # -- history --------------------------------------------------------------

    def append_message(self, chat: dict[str, Any]) -> None:
        """One chat line: avatar, time, display name (else user name), text; all of it escaped."""
        user_id = int(chat.get("user_id", 0))
        raw_name = str(chat.get("display_name") or chat.get("username") or "?")
        if user_id not in self._avatars:
            self._put_avatar(user_id, initials_pixmap(raw_name, AVATAR_SIDE))
        stamp = format_time(float(chat.get("sent_at") or time.time()))
        name = html.escape(raw_name)
        # Escaped: a message is someone else's text, never markup for our window.
        text = html.escape(str(chat.get("text", ""))).replace("\n", "<br>")
        avatar = (f'<img src="{_avatar_url(user_id).toString()}" width="{AVATAR_SIDE}" '
                  f'height="{AVATAR_SIDE}" style="vertical-align: middle">')
        self.messages.append(f'{avatar} <span style="color:#888">{stamp}</span> <b>{name}:</b> {text}')
        if user_id != self._local_user and self._unseen():
            self._set_unread(self._unread + 1)

    def add_event(self, text: str) -> None:
        """Something that happened in the room ("Bob joined", "Ada started presenting")."""
        self.add_notice(text)

    def add_notice(self, text: str) -> None:
        self.messages.append(f'<i style="color:#888">{html.escape(text)}</i>')

    def clear(self) -> None:
        """Empties the list, the outbox and the unread count, for a new room."""
        self.messages.clear()
        for local_id in list(self._pending):
            self.mark_sent(local_id)
        self.mark_read()

    def set_avatar(self, user_id: int, image_bytes: bytes | None) -> None:
        """Their picture next to their lines, earlier lines included; None keeps the initials."""
        pixmap = QPixmap()
        if not image_bytes or not pixmap.loadFromData(image_bytes):
            return
        self._put_avatar(user_id, pixmap.scaled(AVATAR_SIDE, AVATAR_SIDE, Qt.KeepAspectRatio,
                                                Qt.SmoothTransformation))
        document = self.messages.document()
        document.markContentsDirty(0, document.characterCount())

    def set_local_user(self, user_id: int | None) -> None:
        self._local_user = user_id

    def _put_avatar(self, user_id: int, pixmap: QPixmap) -> None:
        self.messages.document().addResource(QTextDocument.ImageResource, _avatar_url(user_id), pixmap)
        self._avatars.add(user_id)

    # -- outbox ---------------------------------------------------------------

    @property
    def pending_ids(self) -> list[str]:
        return list(self._pending)

    def pending_message(self, local_id: str) -> PendingMessage | None:
        return self._pending.get(local_id)

    def add_pending(self, local_id: str, text: str) -> None:
        """Shows text as "sending…" below the history until mark_sent or mark_failed."""
        if local_id in self._pending:
            self._pending[local_id].set_failed(False)
            return
        message = PendingMessage(text)
        message.retry_clicked.connect(lambda: self._retry(local_id))
        self._pending[local_id] = message
        self._outbox_layout.addWidget(message)
        self.outbox.show()

    def mark_sent(self, local_id: str) -> None:
        """The server has it: the pending line goes (its echo is the real line)."""
        message = self._pending.pop(local_id, None)
        if message is None:
            return
        self._outbox_layout.removeWidget(message)
        message.deleteLater()
        self.outbox.setVisible(bool(self._pending))

    def mark_failed(self, local_id: str) -> None:
        message = self._pending.get(local_id)
        if message is not None:
            message.set_failed(True)

    def _retry(self, local_id: str) -> None:
        self._pending[local_id].set_failed(False)
        self.retry_requested.emit(local_id)

    def _send(self) -> None:
        text = self.input.text().strip()
        if not text:
            return
        self.input.clear()
        self.send_requested.emit(next(self._local_ids), text)

    # -- unread ---------------------------------------------------------------

    @property
    def unread_count(self) -> int:
        return self._unread

    def mark_read(self) -> None:
        self._set_unread(0)

    def _unseen(self) -> bool:
        return not self.isVisible() or not self.isActiveWindow()

    def _set_unread(self, count: int) -> None:
        if count != self._unread:
            self._unread = count
            self.unread_changed.emit(count)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.mark_read()  # shown: the user is looking at it
        window = self.window()
        if window is not self._watched_window:
            # Only the window hears that it became active; the panel listens in to clear the count.
            if self._watched_window is not None:
                self._watched_window.removeEventFilter(self)
            window.installEventFilter(self)
            self._watched_window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.WindowActivate and self.isVisible():
            self.mark_read()
        return False
