"""Names and texts from other people are shown as text, never as markup: a name such as
`<b>x</b><img src=...>` appears literally in tiles, the member grid, chat, the lobby, the room
window and dialogs (Qt labels treat text that looks like HTML as rich text unless told not to)."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QLabel

from qt_client.ui.chat_panel import ChatPanel
from qt_client.ui.dialogs import show_error_dialog
from qt_client.ui.lobby_window import LobbyWindow
from qt_client.ui.room_window import RoomWindow
from qt_client.ui.video_tile import VideoTile

NAME = '<b>x</b><img src="file:///etc/hostname"><a href="http://evil.example">click</a>'


def _shown(qtbot, widget) -> None:
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)


def _literal(label: QLabel, text: str) -> None:
    """The label holds the text as plain text, and is as wide as the literal characters are."""
    assert label.textFormat() == Qt.PlainText
    assert text in label.text()
    if not label.wordWrap():
        assert label.sizeHint().width() >= label.fontMetrics().horizontalAdvance(text)


def test_a_tile_and_the_member_grid_show_the_name_literally(qtbot) -> None:
    tile = VideoTile(NAME)
    _shown(qtbot, tile)
    _literal(tile.name_label, NAME)
    window = RoomWindow()
    _shown(qtbot, window)
    window.grid.set_members([{"user_id": 7, "username": "x", "display_name": NAME}])
    _literal(window.grid.tile(7).name_label, NAME)
    window.set_presenter(NAME)
    _literal(window.presenter_banner, NAME)


def test_chat_shows_names_and_text_literally(qtbot) -> None:
    panel = ChatPanel()
    _shown(qtbot, panel)
    panel.append_message({"user_id": 3, "username": "x", "display_name": NAME, "text": NAME, "sent_at": 0})
    panel.add_event(f"{NAME} joined")
    assert panel.messages.toPlainText().count(NAME) == 3
    html = panel.messages.toHtml()
    assert 'href="http://evil' not in html and 'src="file:///etc' not in html  # no link, no image


def test_the_lobby_and_dialogs_show_server_text_literally(qtbot) -> None:
    lobby = LobbyWindow()
    _shown(qtbot, lobby)
    lobby.show_error(f"There is no room with the id {NAME!r}.")
    _literal(lobby.message_label, NAME)
    lobby.set_rooms([{"room_id": "abc234", "title": NAME, "owner_id": 1, "persistent": True,
                      "has_password": False, "members": 0}])
    assert NAME in lobby.room_list.item(0).text()  # list items are always plain text
    box = show_error_dialog(None, "Session ended", NAME)
    qtbot.addWidget(box)
    assert box.textFormat() == Qt.PlainText and box.text() == NAME
