"""ChatPanel: messages read "HH:MM name: text" in local time; sending clears the input line."""

from __future__ import annotations

import os
import time

from PyQt5.QtCore import Qt

from qt_client.ui.chat_panel import ChatPanel

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_panel(qtbot) -> ChatPanel:
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_message_shows_local_time_name_and_text(qtbot):
    panel = make_panel(qtbot)
    sent_at = time.mktime((2024, 5, 6, 14, 7, 30, 0, 0, -1))  # 14:07 local time
    chat = {"room_id": "abc234", "user_id": 2, "username": "bob", "text": "hello", "sent_at": sent_at}
    panel.append_message(chat)
    assert "14:07 bob: hello" in panel.messages.toPlainText()


def test_message_markup_is_shown_as_text(qtbot):
    panel = make_panel(qtbot)
    panel.append_message({"user_id": 2, "username": "<b>eve</b>", "text": "<img src=x> & co", "sent_at": 0.0})
    assert "<b>eve</b>: <img src=x> & co" in panel.messages.toPlainText()


def test_send_emits_and_clears_input(qtbot):
    panel = make_panel(qtbot)
    qtbot.keyClicks(panel.input, "  hi all  ")
    with qtbot.waitSignal(panel.send_requested, timeout=1000) as blocker:
        qtbot.keyClick(panel.input, Qt.Key_Return)
    assert blocker.args == ["hi all"]
    assert panel.input.text() == ""


def test_send_button_and_empty_text(qtbot):
    panel = make_panel(qtbot)
    qtbot.keyClicks(panel.input, "   ")
    with qtbot.assertNotEmitted(panel.send_requested):
        qtbot.mouseClick(panel.send_button, Qt.LeftButton)
    panel.input.setText("yo")
    with qtbot.waitSignal(panel.send_requested, timeout=1000):
        qtbot.mouseClick(panel.send_button, Qt.LeftButton)


def test_notices_are_listed_in_order(qtbot):
    panel = make_panel(qtbot)
    panel.add_notice("bob joined")
    panel.append_message({"user_id": 2, "username": "bob", "text": "hey", "sent_at": time.time()})
    panel.add_notice("bob left")
    lines = panel.messages.toPlainText().splitlines()
    assert lines[0] == "bob joined" and lines[1].endswith("bob: hey") and lines[2] == "bob left"
