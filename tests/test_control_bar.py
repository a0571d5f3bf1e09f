"""ControlBar: labels follow each toggle's state and shorten, never clip, when the bar is narrow."""

from __future__ import annotations

import os

from PyQt5.QtWidgets import QAction

from qt_client.ui.control_bar import ControlBar

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_bar(qtbot) -> tuple[ControlBar, QAction, QAction]:
    bar = ControlBar()
    qtbot.addWidget(bar)
    mic = QAction("mic", bar)
    mic.setObjectName("mic")
    mic.setCheckable(True)
    chat = QAction("chat", bar)
    chat.setObjectName("chat")
    bar.add_action(mic, ("Unmute microphone", "Unmute"), ("Mute microphone", "Mute"))
    bar.add_stretch()
    bar.add_action(chat, ("Chat", "Chat"), reserve=("Chat (99)", "Chat 99"))
    bar.resize(bar.sizeHint())
    bar.show()
    return bar, mic, chat


def test_labels_follow_the_checked_state(qtbot):
    bar, mic, _ = make_bar(qtbot)
    assert bar.button(mic).text() == "Unmute microphone"
    mic.setChecked(True)
    assert bar.button(mic).text() == "Mute microphone"


def test_narrow_bar_uses_short_labels_and_wide_bar_long_ones(qtbot):
    bar, mic, chat = make_bar(qtbot)
    assert not bar.compact
    bar.resize(bar.minimumSizeHint().width(), bar.height())
    qtbot.waitUntil(lambda: bar.compact, timeout=1000)
    assert bar.button(mic).text() == "Unmute" and bar.button(chat).text() == "Chat"
    for action in (mic, chat):
        button = bar.button(action)
        qtbot.waitUntil(lambda button=button: bar.rect().contains(button.geometry()), timeout=1000)
        assert button.width() >= button.sizeHint().width()  # the short label is not cut either
    bar.resize(bar.sizeHint())
    qtbot.waitUntil(lambda: not bar.compact, timeout=1000)
    assert bar.button(mic).text() == "Unmute microphone"


def test_room_for_reserved_labels_is_kept_from_the_start(qtbot):
    bar, mic, chat = make_bar(qtbot)
    before = (bar.minimumSizeHint().width(), bar.sizeHint().width())
    bar.set_labels(chat, ("Chat (42)", "Chat 42"))
    mic.setChecked(True)
    assert bar.button(chat).text() == "Chat (42)"
    assert (bar.minimumSizeHint().width(), bar.sizeHint().width()) == before  # the window does not jump


def test_an_action_deleted_first_leaves_the_bar_working(qtbot):
    bar, mic, chat = make_bar(qtbot)
    mic.deleteLater()
    qtbot.waitUntil(lambda: len(bar.findChildren(QAction)) == 1, timeout=1000)
    bar.resize(bar.width() - 50, bar.height())
    qtbot.wait(10)
    assert bar.button(chat).text() == "Chat"
