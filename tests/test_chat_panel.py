"""ChatPanel: messages read "HH:MM name: text" with the sender's avatar; pending lines, Retry, unread."""

from __future__ import annotations

import os
import time

from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PyQt5.QtGui import QColor, QImage
from PyQt5.QtWidgets import QWidget

from qt_client.ui.chat_panel import ChatPanel

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_panel(qtbot) -> ChatPanel:
    panel = ChatPanel()
    qtbot.addWidget(panel)
    panel.resize(360, 400)
    panel.show()
    qtbot.waitExposed(panel)
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=2000)
    return panel


def png(colour: str) -> bytes:
    image = QImage(40, 40, QImage.Format_RGB32)
    image.fill(QColor(colour))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data)


def count_colour(widget, colour: str) -> int:
    image = widget.grab().toImage()
    target = QColor(colour)
    return sum(1 for y in range(image.height()) for x in range(image.width())
               if image.pixelColor(x, y) == target)


def test_message_shows_display_name_rather_than_user_name(qtbot):
    panel = make_panel(qtbot)
    panel.append_message({"user_id": 3, "username": "ada", "display_name": "Ada Lovelace", "text": "hi",
                          "sent_at": 0.0})
    assert "Ada Lovelace: hi" in panel.messages.toPlainText()
    assert "ada:" not in panel.messages.toPlainText()


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
    local_id, text = blocker.args
    assert text == "hi all" and local_id
    assert panel.input.text() == ""
    panel.input.setText("again")
    with qtbot.waitSignal(panel.send_requested, timeout=1000) as blocker:
        qtbot.keyClick(panel.input, Qt.Key_Return)
    assert blocker.args[0] != local_id  # every message has its own id


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
    panel.add_event("Ada started presenting")
    assert panel.messages.toPlainText().splitlines()[-1] == "Ada started presenting"
    fragment = panel.messages.document().lastBlock().begin().fragment()
    assert fragment.charFormat().fontItalic()  # a notice, not someone's words


def test_sender_avatar_is_shown_and_replaces_initials_on_earlier_lines(qtbot):
    panel = make_panel(qtbot)
    panel.append_message({"user_id": 2, "username": "bob", "text": "first", "sent_at": 0.0})
    assert count_colour(panel.messages.viewport(), "cyan") == 0
    panel.set_avatar(2, png("cyan"))
    qtbot.waitUntil(lambda: count_colour(panel.messages.viewport(), "cyan") >= 200, timeout=2000)
    panel.append_message({"user_id": 2, "username": "bob", "text": "second", "sent_at": 0.0})
    qtbot.waitUntil(lambda: count_colour(panel.messages.viewport(), "cyan") >= 600, timeout=2000)


def test_pending_message_is_sending_then_goes_when_sent(qtbot):
    panel = make_panel(qtbot)
    assert not panel.outbox.isVisible()
    panel.add_pending("local-1", "<b>hello</b>")
    pending = panel.pending_message("local-1")
    assert panel.outbox.isVisible() and pending.isVisible()
    assert pending.text_label.text() == "<b>hello</b>" and pending.status_label.text() == "sending…"
    assert not pending.retry_button.isVisible()
    panel.mark_sent("local-1")
    panel.append_message({"user_id": 1, "username": "me", "text": "<b>hello</b>", "sent_at": 0.0})
    assert panel.pending_ids == [] and not panel.outbox.isVisible()
    assert panel.messages.toPlainText().count("<b>hello</b>") == 1  # the echo, once


def test_failed_message_offers_retry(qtbot):
    panel = make_panel(qtbot)
    panel.add_pending("local-7", "are you there?")
    panel.mark_failed("local-7")
    pending = panel.pending_message("local-7")
    assert pending.status_label.text() == "not sent" and pending.retry_button.isVisible()
    with qtbot.waitSignal(panel.retry_requested, timeout=1000) as blocker:
        qtbot.mouseClick(pending.retry_button, Qt.LeftButton)
    assert blocker.args == ["local-7"]
    assert pending.status_label.text() == "sending…" and not pending.retry_button.isVisible()
    panel.mark_sent("local-7")
    assert panel.pending_ids == []


def test_unread_counts_while_hidden_or_inactive_and_resets_when_seen(qtbot):
    panel = make_panel(qtbot)
    panel.set_local_user(1)
    panel.append_message({"user_id": 2, "username": "bob", "text": "seen", "sent_at": 0.0})
    assert panel.unread_count == 0
    panel.hide()
    with qtbot.waitSignal(panel.unread_changed, timeout=1000) as blocker:
        panel.append_message({"user_id": 2, "username": "bob", "text": "one", "sent_at": 0.0})
    assert blocker.args == [1]
    panel.append_message({"user_id": 1, "username": "me", "text": "mine", "sent_at": 0.0})
    panel.add_event("Cy joined")
    panel.append_message({"user_id": 2, "username": "bob", "text": "two", "sent_at": 0.0})
    assert panel.unread_count == 2  # my own lines and room events are not unread
    with qtbot.waitSignal(panel.unread_changed, timeout=1000) as blocker:
        panel.show()
    assert blocker.args == [0] and panel.unread_count == 0

    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()
    qtbot.waitUntil(lambda: not panel.isActiveWindow(), timeout=2000)
    panel.append_message({"user_id": 2, "username": "bob", "text": "while away", "sent_at": 0.0})
    assert panel.unread_count == 1
    panel.activateWindow()
    qtbot.waitUntil(lambda: panel.unread_count == 0, timeout=2000)
