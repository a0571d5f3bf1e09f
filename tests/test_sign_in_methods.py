"""The lobby's Sign-in methods: linked providers offer Unlink, the others Link, and the server's refusal
is shown in its own words with the buttons back."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5.QtCore import Qt

from qt_client.ui.lobby_window import LobbyWindow

PROVIDERS = [
    {"name": "keycloak", "display_name": "Company SSO", "kind": "oidc"},
    {"name": "qq", "display_name": "QQ", "kind": "qq"},
]


def make_panel(qtbot):
    lobby = LobbyWindow()
    qtbot.addWidget(lobby)
    lobby.show()
    qtbot.waitExposed(lobby)
    return lobby.sign_in_methods


def test_hidden_on_a_server_without_providers(qtbot):
    panel = make_panel(qtbot)
    assert not panel.isVisible()
    panel.set_methods([], [], True)
    assert not panel.isVisible()


def test_linked_providers_offer_unlink_and_the_others_link(qtbot):
    panel = make_panel(qtbot)
    panel.set_methods(PROVIDERS, ["qq"], False)
    assert panel.isVisible()
    assert set(panel.buttons) == {"link_keycloak", "unlink_qq"}
    assert panel.buttons["link_keycloak"].text() == "Link Company SSO"
    assert "No password" in panel.password_label.text()
    with qtbot.waitSignal(panel.unlink_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.buttons["unlink_qq"], Qt.LeftButton)
    assert blocker.args == ["qq"]
    assert not panel.buttons["link_keycloak"].isEnabled()  # until the server answers


def test_nothing_to_press_until_the_account_is_known(qtbot):
    panel = make_panel(qtbot)
    panel.set_methods(PROVIDERS, None, True)
    assert panel.isVisible() and panel.buttons == {}
    assert "Loading" in panel.password_label.text()


def test_linking_waits_for_the_browser_and_can_be_cancelled(qtbot):
    panel = make_panel(qtbot)
    panel.set_methods(PROVIDERS, [], True)
    with qtbot.waitSignal(panel.link_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.buttons["link_qq"], Qt.LeftButton)
    assert blocker.args == ["qq"]
    assert "browser" in panel.message_label.text() and panel.cancel_button.isVisible()
    with qtbot.waitSignal(panel.link_cancelled, timeout=1000):
        qtbot.mouseClick(panel.cancel_button, Qt.LeftButton)
    assert not panel.cancel_button.isVisible() and not panel.message_label.isVisible()
    assert all(button.isEnabled() for button in panel.buttons.values())


def test_the_servers_refusal_is_shown_and_the_buttons_come_back(qtbot):
    panel = make_panel(qtbot)
    panel.set_methods(PROVIDERS, ["qq"], False)
    qtbot.mouseClick(panel.buttons["unlink_qq"], Qt.LeftButton)
    panel.failed("This is the only way left to log in to your account: add another first.")
    assert panel.message_label.isVisible() and "only way left" in panel.message_label.text()
    assert all(button.isEnabled() for button in panel.buttons.values())
