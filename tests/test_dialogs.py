"""Non-blocking message boxes: they open without stopping the event loop."""

from __future__ import annotations

import os

from PyQt5.QtWidgets import QMessageBox, QWidget

from qt_client.ui.dialogs import show_error_dialog, show_logged_in_elsewhere

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_logged_in_elsewhere_opens_and_returns(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.show()
    box = show_logged_in_elsewhere(parent)  # returning at all proves it did not block
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert box.windowTitle() == "Logged in elsewhere"
    assert "logged in somewhere else" in box.text()
    box.button(QMessageBox.Ok).click()
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=2000)


def test_error_dialog(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    box = show_error_dialog(parent, "Cannot connect", "Server 10.0.0.5:9000 did not answer.")
    qtbot.waitUntil(box.isVisible, timeout=2000)
    assert box.windowTitle() == "Cannot connect" and "did not answer" in box.text()
    assert box.icon() == QMessageBox.Warning
    box.close()
