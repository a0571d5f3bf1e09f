"""LoginWindow: what the user types reaches the controller complete, or the user is told what is missing."""

from __future__ import annotations

import os

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QLabel

from qt_client.ui.login_window import LoginWindow, normalize_server

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_window(qtbot) -> LoginWindow:
    window = LoginWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def type_fields(qtbot, window: LoginWindow, server: str, user: str, password: str) -> None:
    window.server_edit.clear()
    qtbot.keyClicks(window.server_edit, server)
    qtbot.keyClicks(window.user_edit, user)
    qtbot.keyClicks(window.password_edit, password)


def test_clicking_log_in_emits_the_typed_values(qtbot):
    window = make_window(qtbot)
    type_fields(qtbot, window, "10.0.0.5:9100", "ada", "secret-pw")
    with qtbot.waitSignal(window.login_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.login_button, Qt.LeftButton)
    assert blocker.args == ["10.0.0.5:9100", "ada", "secret-pw"]


def test_register_button_emits_register(qtbot):
    window = make_window(qtbot)
    type_fields(qtbot, window, "host", "bob", "hunter22")
    with qtbot.assertNotEmitted(window.login_requested), qtbot.waitSignal(
        window.register_requested, timeout=1000
    ) as blocker:
        qtbot.mouseClick(window.register_button, Qt.LeftButton)
    assert blocker.args == ["host:9000", "bob", "hunter22"]  # the default port was added
    assert window.server_edit.text() == "host:9000"


def test_enter_in_password_logs_in(qtbot):
    window = make_window(qtbot)
    type_fields(qtbot, window, "127.0.0.1:9000", "ada", "secret-pw")
    with qtbot.waitSignal(window.login_requested, timeout=1000):
        qtbot.keyClick(window.password_edit, Qt.Key_Return)


def test_password_is_not_shown(qtbot):
    window = make_window(qtbot)
    assert window.password_edit.echoMode() == window.password_edit.Password


def test_empty_fields_show_an_error_and_emit_nothing(qtbot):
    window = make_window(qtbot)
    type_fields(qtbot, window, "127.0.0.1:9000", "", "")
    with qtbot.assertNotEmitted(window.login_requested), qtbot.assertNotEmitted(window.register_requested):
        qtbot.mouseClick(window.login_button, Qt.LeftButton)
        qtbot.mouseClick(window.register_button, Qt.LeftButton)
    error = window.findChild(QLabel, "error")
    assert error.isVisible()
    assert "user name" in error.text() and "password" in error.text()
    assert error.palette().color(error.foregroundRole()).red() > 150  # shown in red


def test_busy_disables_buttons_and_enter(qtbot):
    window = make_window(qtbot)
    type_fields(qtbot, window, "127.0.0.1:9000", "ada", "secret-pw")
    window.set_busy(True)
    assert not window.login_button.isEnabled() and not window.register_button.isEnabled()
    with qtbot.assertNotEmitted(window.login_requested):
        qtbot.keyClick(window.password_edit, Qt.Key_Return)
    window.set_busy(False)
    assert window.login_button.isEnabled()


def test_show_error_and_set_fields(qtbot):
    window = make_window(qtbot)
    window.show_error("Wrong password")
    assert window.error_label.isVisible() and window.error_label.text() == "Wrong password"
    window.set_fields("meet.example:9000", "ada")
    assert (window.server_edit.text(), window.user_edit.text()) == ("meet.example:9000", "ada")


def test_normalize_server_keeps_explicit_ports():
    assert normalize_server(" example.org ") == "example.org:9000"
    assert normalize_server("example.org:9100") == "example.org:9100"
    assert normalize_server("[::1]") == "[::1]:9000"
    assert normalize_server("[::1]:9100") == "[::1]:9100"


def test_register_shows_the_rules_and_says_which_one_a_password_breaks(qtbot):
    window = make_window(qtbot)
    assert "at least 8 characters" in window.password_rules.text()
    for password, why in (("short", "at least 8 characters"), ("password1", "too common")):
        window.user_edit.clear()
        window.password_edit.clear()
        type_fields(qtbot, window, "host", "bob", password)
        with qtbot.assertNotEmitted(window.register_requested):
            qtbot.mouseClick(window.register_button, Qt.LeftButton)
        assert window.error_label.isVisible() and why in window.error_label.text()
    window.user_edit.setText("b\u043eb")  # a Cyrillic o among Latin letters (QTest types ASCII only)
    window.password_edit.setText("long-unusual-pw")
    with qtbot.assertNotEmitted(window.register_requested):
        qtbot.mouseClick(window.register_button, Qt.LeftButton)
    assert "look like another name" in window.error_label.text()
    # Logging in is never held to the rules: old accounts may have short passwords.
    window.user_edit.clear()
    window.password_edit.clear()
    type_fields(qtbot, window, "host", "oldtimer", "abc123")
    with qtbot.waitSignal(window.login_requested, timeout=1000):
        qtbot.mouseClick(window.login_button, Qt.LeftButton)


def test_errors_show_markup_as_text(qtbot):
    window = make_window(qtbot)
    window.show_error("<b>x</b><img src=nothing.png>")
    assert window.error_label.textFormat() == Qt.PlainText
    assert window.error_label.text() == "<b>x</b><img src=nothing.png>"
