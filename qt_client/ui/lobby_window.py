"""Between logging in and meeting: one's own profile, and creating, finding or joining a room."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PyQt5.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from qt_client.net.avatar import decode_avatar
from qt_client.ui.avatar_pixmap import avatar_pixmap, encode_avatar_png
from qt_client.ui.sign_in_methods import SignInMethodsPanel

AVATAR_SIZE = 64
ROOM_ID_ROLE = Qt.UserRole
HAS_PASSWORD_ROLE = Qt.UserRole + 1


def lock_icon() -> QIcon:
    """A padlock drawn in code: emoji padlocks are missing from many desktop fonts."""
    pixmap = QPixmap(16, 16)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(QPen(QColor("#555555"), 2))
    painter.drawArc(QRectF(4, 1, 8, 10), 0, 180 * 16)  # the shackle
    painter.fillRect(QRectF(2, 7, 12, 8), QColor("#c49000"))  # the body
    painter.end()
    return QIcon(pixmap)


class LobbyWindow(QWidget):
    """Emits what the user asks for; the controller answers with set_profile, set_rooms and messages."""

    profile_save_requested = pyqtSignal(str, str, object)
    create_room_requested = pyqtSignal(str, str, bool)
    join_room_requested = pyqtSignal(str, str)
    rooms_refresh_requested = pyqtSignal()
    # The next page of rooms, from where the last one ended (the server's next_cursor).
    more_rooms_requested = pyqtSignal(str)
    logout_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("mini-meeting: lobby")
        self._username = ""
        # None means "leave the avatar as it is"; bytes (possibly b"") replace it on save.
        self._pending_avatar: bytes | None = None
        # What the last "Save profile" sent, until the server answers: edits made meanwhile are kept.
        self._sent: tuple[str, str, bytes | None] | None = None

        layout = QGridLayout(self)
        self.sign_in_methods = SignInMethodsPanel()
        layout.addWidget(self._build_profile(), 0, 0)
        layout.addWidget(self.sign_in_methods, 1, 0)
        layout.addWidget(self._build_create(), 2, 0)
        layout.addWidget(self._build_join(), 3, 0)
        layout.addWidget(self._build_rooms(), 0, 1, 4, 1)
        self.message_label = QLabel()
        self.message_label.setObjectName("message")
        # Server messages quote what people typed (a room id, a title): shown as text, never markup.
        self.message_label.setTextFormat(Qt.PlainText)
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        layout.addWidget(self.message_label, 4, 0, 1, 2)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        self.logout_button = QPushButton("Log out")
        self.logout_button.clicked.connect(self.logout_requested)
        bottom.addWidget(self.logout_button)
        layout.addLayout(bottom, 5, 0, 1, 2)

    def _build_profile(self) -> QGroupBox:
        box = QGroupBox("Your profile")
        self.avatar_label = QLabel()
        self.avatar_label.setObjectName("avatar")
        self.avatar_label.setFixedSize(AVATAR_SIZE, AVATAR_SIZE)
        self.display_name_edit = QLineEdit()
        self.signature_edit = QLineEdit()
        self.choose_avatar_button = QPushButton("Choose avatar…")
        self.choose_avatar_button.clicked.connect(self._choose_avatar)
        self.save_profile_button = QPushButton("Save profile")
        self.save_profile_button.clicked.connect(self._save_profile)
        form = QFormLayout()
        form.addRow("Display name", self.display_name_edit)
        form.addRow("Signature", self.signature_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.choose_avatar_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_profile_button)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(buttons)
        row = QHBoxLayout(box)
        row.addWidget(self.avatar_label, 0, Qt.AlignTop)
        row.addLayout(right)
        self._show_avatar(b"")
        return box

    def _build_create(self) -> QGroupBox:
        box = QGroupBox("New room")
        self.create_title_edit = QLineEdit()
        self.create_title_edit.setPlaceholderText("Standup")
        self.create_password_edit = QLineEdit()
        self.create_password_edit.setEchoMode(QLineEdit.Password)
        self.create_password_edit.setPlaceholderText("optional")
        self.persistent_check = QCheckBox("Keep this room after everyone leaves")
        self.create_button = QPushButton("Create")
        self.create_button.clicked.connect(self._create_room)
        form = QFormLayout(box)
        form.addRow("Title", self.create_title_edit)
        form.addRow("Password", self.create_password_edit)
        form.addRow(self.persistent_check)
        form.addRow(self.create_button)
        return box

    def _build_join(self) -> QGroupBox:
        box = QGroupBox("Join a room")
        self.join_id_edit = QLineEdit()
        self.join_id_edit.setPlaceholderText("room id, e.g. abc234")
        self.join_password_edit = QLineEdit()
        self.join_password_edit.setEchoMode(QLineEdit.Password)
        self.join_password_edit.setPlaceholderText("if the room has one")
        self.join_id_edit.returnPressed.connect(self._join_typed)
        self.join_password_edit.returnPressed.connect(self._join_typed)
        self.join_button = QPushButton("Join")
        self.join_button.clicked.connect(self._join_typed)
        form = QFormLayout(box)
        form.addRow("Room id", self.join_id_edit)
        form.addRow("Password", self.join_password_edit)
        form.addRow(self.join_button)
        return box

    def _build_rooms(self) -> QGroupBox:
        box = QGroupBox("Rooms")
        self.room_list = QListWidget()
        self.room_list.setMinimumWidth(280)
        self.room_list.itemDoubleClicked.connect(self._join_item)
        self.room_list.currentItemChanged.connect(self._room_selected)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.rooms_refresh_requested)
        self.join_listed_button = QPushButton("Join")
        self.join_listed_button.clicked.connect(lambda: self._join_item(self.room_list.currentItem()))
        # The server lists rooms a page at a time; shown while another page follows.
        self.more_rooms_button = QPushButton("More rooms")
        self.more_rooms_button.setVisible(False)
        self.more_rooms_button.clicked.connect(self._ask_more_rooms)
        self._next_cursor: str | None = None
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.more_rooms_button)
        buttons.addStretch(1)
        buttons.addWidget(self.join_listed_button)
        layout = QVBoxLayout(box)
        layout.addWidget(self.room_list)
        layout.addLayout(buttons)
        return box

    def set_profile(self, profile: dict[str, Any]) -> None:
        """Shows the profile the server holds, dropping any unsaved avatar choice."""
        self._username = str(profile.get("username", ""))
        self.display_name_edit.setText(str(profile.get("display_name") or ""))
        self.signature_edit.setText(str(profile.get("signature") or ""))
        self._pending_avatar = None
        self._show_avatar(decode_avatar(profile))

    def set_rooms(self, rooms: list[dict[str, Any]], next_cursor: str | None = None) -> None:
        """The first page of rooms, in place of what was shown; `next_cursor` when more follow."""
        selected = self.room_list.currentItem()
        selected_id = selected.data(ROOM_ID_ROLE) if selected else None
        self.room_list.clear()
        self._add_items(rooms, selected_id)
        if not rooms:
            self.room_list.addItem(QListWidgetItem("No saved rooms yet"))
        self._set_next_cursor(next_cursor)

    def add_rooms(self, rooms: list[dict[str, Any]], next_cursor: str | None = None) -> None:
        """A further page of rooms, below those shown."""
        self._add_items(rooms, None)
        self._set_next_cursor(next_cursor)

    def _add_items(self, rooms: list[dict[str, Any]], selected_id: str | None) -> None:
        shown = {self.room_list.item(i).data(ROOM_ID_ROLE) for i in range(self.room_list.count())}
        for room in rooms:
            if room["room_id"] in shown:
                continue  # a page asked for twice
            count = int(room.get("members") or 0)
            people = "1 person" if count == 1 else f"{count} people"
            title = room.get("title") or "(untitled)"
            item = QListWidgetItem(f"{title}  [{room['room_id']}]  {people}")
            if room.get("has_password"):
                item.setIcon(lock_icon())
                item.setToolTip("This room needs a password")
            item.setData(ROOM_ID_ROLE, room["room_id"])
            item.setData(HAS_PASSWORD_ROLE, bool(room.get("has_password")))
            self.room_list.addItem(item)
            if room["room_id"] == selected_id:
                self.room_list.setCurrentItem(item)  # a refresh should not lose the user's selection

    def _set_next_cursor(self, next_cursor: str | None) -> None:
        self._next_cursor = next_cursor
        self.more_rooms_button.setVisible(next_cursor is not None)
        self.more_rooms_button.setEnabled(True)

    def _ask_more_rooms(self) -> None:
        if self._next_cursor is not None:
            self.more_rooms_button.setEnabled(False)  # until the page arrives
            self.more_rooms_requested.emit(self._next_cursor)

    def profile_saved(self, profile: dict[str, Any]) -> None:
        """The server stored the profile: say so, keeping any change made after it was sent."""
        sent, self._sent = self._sent, None
        self.save_profile_button.setEnabled(True)
        current = (self.display_name_edit.text().strip(), self.signature_edit.text().strip(),
                   self._pending_avatar)
        if sent is None or current == sent:
            self.set_profile(profile)
            self.show_info("Profile saved.")
            return
        self._username = str(profile.get("username", ""))
        self.show_info("Profile saved. You changed it again meanwhile: press Save profile to keep that too.")

    def profile_save_failed(self, message: str) -> None:
        """Saving failed: nothing the user chose is dropped, and they are told why."""
        self._sent = None
        self.save_profile_button.setEnabled(True)
        self.show_error(message)

    def show_error(self, message: str) -> None:
        self._show_message(message, "#c62828")

    def show_info(self, message: str) -> None:
        self._show_message(message, "#2e7d32")

    def load_avatar(self, path: str) -> bool:
        """Reads an image for the avatar; it is sent on the next "Save profile"."""
        png = encode_avatar_png(QImage(path))
        if png is None:
            self.show_error(f"Cannot use {path} as an avatar: not a readable image.")
            return False
        self._pending_avatar = png
        self._show_avatar(png)
        self.show_info("New avatar chosen: press Save profile to keep it.")
        return True

    def _show_message(self, message: str, colour: str) -> None:
        self.message_label.setStyleSheet(f"color: {colour};")
        self.message_label.setText(message)
        self.message_label.setVisible(bool(message))

    def _show_avatar(self, image_bytes: bytes) -> None:
        name = self.display_name_edit.text() or self._username
        self.avatar_label.setPixmap(avatar_pixmap(image_bytes, name, AVATAR_SIZE))

    def _choose_avatar(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose avatar", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp)"
        )
        if path:
            self.load_avatar(path)

    def _save_profile(self) -> None:
        self._sent = (self.display_name_edit.text().strip(), self.signature_edit.text().strip(),
                      self._pending_avatar)
        self.save_profile_button.setEnabled(False)  # until the server answers
        self.show_info("Saving profile…")
        self.profile_save_requested.emit(*self._sent)

    def _create_room(self) -> None:
        self.create_room_requested.emit(
            self.create_title_edit.text().strip(),
            self.create_password_edit.text(),
            self.persistent_check.isChecked(),
        )

    def _join_typed(self) -> None:
        room_id = self.join_id_edit.text().strip().lower()
        if not room_id:
            self.show_error("Type the id of the room to join (six letters and digits).")
            return
        self.join_room_requested.emit(room_id, self.join_password_edit.text())

    def _room_selected(self, item: QListWidgetItem | None) -> None:
        # Selecting a room fills the join form, so its password field serves locked rooms too.
        if item is not None and item.data(ROOM_ID_ROLE):
            self.join_id_edit.setText(item.data(ROOM_ID_ROLE))

    def _join_item(self, item: QListWidgetItem | None) -> None:
        if item is None or not item.data(ROOM_ID_ROLE):
            self.show_error("Choose a room in the list first.")
            return
        password = self.join_password_edit.text()
        if item.data(HAS_PASSWORD_ROLE) and not password:
            self.join_id_edit.setText(item.data(ROOM_ID_ROLE))
            self.join_password_edit.setFocus()
            self.show_error("This room has a password: type it under \"Join a room\", then join.")
            return
        self.join_room_requested.emit(item.data(ROOM_ID_ROLE), password)
