"""LoginWindow's "Log in with ..." buttons: shown for the server's providers only, a click asks for that
provider's login and waits for the browser, Cancel gives the window back."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QPushButton

from qt_client.ui.login_window import LoginWindow

PROVIDERS = [
    {"name": "keycloak", "display_name": "Company SSO", "kind": "oidc"},
    {"name": "wechat", "display_name": "WeChat", "kind": "wechat"},
]


def make_window(qtbot) -> LoginWindow:
    window = LoginWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def provider_buttons(window: LoginWindow) -> dict[str, QPushButton]:
    return {button.objectName(): button for button in window.findChildren(QPushButton)
            if button.objectName().startswith("provider_") and not button.isHidden()}


def test_no_provider_buttons_until_the_server_offers_some(qtbot):
    window = make_window(qtbot)
    assert provider_buttons(window) == {}
    window.set_providers([])
    assert provider_buttons(window) == {}


def test_one_button_per_provider_with_its_display_name(qtbot):
    window = make_window(qtbot)
    window.set_providers(PROVIDERS)
    buttons = provider_buttons(window)
    assert set(buttons) == {"provider_keycloak", "provider_wechat"}
    assert buttons["provider_keycloak"].text() == "Log in with Company SSO"
    assert buttons["provider_wechat"].text() == "Log in with WeChat (scan the QR code)"
    assert all(button.isVisible() for button in buttons.values())


def test_another_servers_list_replaces_the_buttons(qtbot):
    window = make_window(qtbot)
    window.set_providers(PROVIDERS)
    window.set_providers([{"name": "qq", "display_name": "QQ", "kind": "qq"}])
    qtbot.waitUntil(lambda: window.findChild(QPushButton, "provider_keycloak") is None, timeout=2000)
    assert set(provider_buttons(window)) == {"provider_qq"}
    window.set_providers([])
    qtbot.waitUntil(lambda: window.findChild(QPushButton, "provider_qq") is None, timeout=2000)


def test_editing_the_server_asks_for_its_providers(qtbot):
    window = make_window(qtbot)
    window.server_edit.clear()
    qtbot.keyClicks(window.server_edit, "meet.example.org")
    with qtbot.waitSignal(window.providers_wanted, timeout=1000) as blocker:
        qtbot.keyClick(window.server_edit, Qt.Key_Return)
    assert blocker.args == ["meet.example.org:9000"]


def test_a_click_asks_for_that_providers_login_and_shows_the_waiting_state(qtbot):
    window = make_window(qtbot)
    window.server_edit.setText("10.0.0.5:9100")
    window.set_providers(PROVIDERS)
    with qtbot.waitSignal(window.provider_login_requested, timeout=1000) as blocker:
        qtbot.mouseClick(window.findChild(QPushButton, "provider_keycloak"), Qt.LeftButton)
    assert blocker.args == ["10.0.0.5:9100", "keycloak"]
    assert window.waiting_label.isVisible() and "browser" in window.waiting_label.text()
    assert window.cancel_provider_button.isVisible()
    # While the browser is out, nothing else can be started from here.
    assert not window.login_button.isEnabled() and not window.register_button.isEnabled()
    assert not any(button.isEnabled() for button in provider_buttons(window).values())
    with qtbot.assertNotEmitted(window.provider_login_requested):
        qtbot.mouseClick(window.findChild(QPushButton, "provider_wechat"), Qt.LeftButton)


def test_cancel_leaves_the_waiting_state_and_says_so(qtbot):
    window = make_window(qtbot)
    window.set_providers(PROVIDERS)
    qtbot.mouseClick(window.findChild(QPushButton, "provider_wechat"), Qt.LeftButton)
    with qtbot.waitSignal(window.provider_login_cancelled, timeout=1000):
        qtbot.mouseClick(window.cancel_provider_button, Qt.LeftButton)
    assert not window.waiting_label.isVisible() and not window.cancel_provider_button.isVisible()
    assert window.login_button.isEnabled()
    assert all(button.isEnabled() for button in provider_buttons(window).values())


def test_a_failed_provider_login_shows_the_servers_words_and_the_buttons_again(qtbot):
    window = make_window(qtbot)
    window.set_providers(PROVIDERS)
    qtbot.mouseClick(window.findChild(QPushButton, "provider_keycloak"), Qt.LeftButton)
    window.set_busy(False)  # what the app does when the worker reports a failure
    window.show_error("The login was cancelled or refused at the provider.")
    assert window.error_label.isVisible() and "refused" in window.error_label.text()
    assert not window.waiting_label.isVisible()
    assert all(button.isEnabled() for button in provider_buttons(window).values())


def test_a_server_list_arriving_during_a_login_keeps_the_buttons_disabled(qtbot):
    window = make_window(qtbot)
    window.set_busy(True)
    window.set_providers(PROVIDERS)
    assert not any(button.isEnabled() for button in provider_buttons(window).values())


def test_the_same_server_is_not_asked_twice_nor_after_a_login_to_it(qtbot):
    # Each ask may dial the server and ask the person again whether to trust its key.
    window = make_window(qtbot)
    window.server_edit.setText("meet.example.org")
    with qtbot.waitSignal(window.providers_wanted, timeout=1000):
        window.ask_for_providers()
    with qtbot.assertNotEmitted(window.providers_wanted):
        window.ask_for_providers()
    window.server_edit.setText("other.example.org:9100")
    window.user_edit.setText("ada")
    window.password_edit.setText("secret-pw")
    qtbot.mouseClick(window.login_button, Qt.LeftButton)
    with qtbot.assertNotEmitted(window.providers_wanted):
        window.ask_for_providers()
