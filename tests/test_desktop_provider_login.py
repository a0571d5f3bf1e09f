"""The desktop client logs in with WeChat end to end: a real server process configured with the WeChat
stand-in, the real app offscreen, the browser's part done with `requests`. The person sees the button,
the click opens the server's start page, and they reach the lobby as the WeChat user, whose only way
in cannot be unlinked."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PyQt5.QtCore import QObject, Qt, QUrl, pyqtSlot
from PyQt5.QtGui import QDesktopServices
from PyQt5.QtWidgets import QPushButton

from qt_client.app import MeetingApp
from qt_client.ui.client_settings import ClientSettings
from tests.server_process import ServerProcess
from tests.standins.wechat_standin import WeChatStandin
from tests.tls_support import cert_path
from tests.wechat_server_support import server_with_wechat, visit, wechat_standin


class Browser(QObject):
    """Stands in for the desktop's browser: QDesktopServices hands it the URLs the app opens."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @pyqtSlot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def browser() -> Iterator[Browser]:
    browser = Browser()
    for scheme in ("https", "http"):
        QDesktopServices.setUrlHandler(scheme, browser, "open")
    yield browser
    for scheme in ("https", "http"):
        QDesktopServices.unsetUrlHandler(scheme)


@pytest.fixture
def standin() -> Iterator[WeChatStandin]:
    with wechat_standin() as standin:
        yield standin


@pytest.fixture
def server(tmp_path: Path, standin: WeChatStandin) -> Iterator[ServerProcess]:
    with server_with_wechat(tmp_path, standin) as server:
        yield server


@pytest.fixture
def app(qtbot: Any, tmp_path: Path, server: ServerProcess) -> Iterator[MeetingApp]:
    settings = ClientSettings(str(tmp_path / "client.ini"))
    settings.microphone, settings.codec, settings.size = "silence", "jpeg", "320x240"
    settings.ca_file = str(cert_path())  # the test server's certificate, as a private CA's
    settings.server = f"127.0.0.1:{server.control_port}"
    meeting = MeetingApp(settings)
    yield meeting
    meeting.close()


def test_log_in_with_wechat_reaches_the_lobby_as_the_wechat_user(qtbot, app, browser, server):
    login = app.login_window
    qtbot.waitUntil(lambda: login.findChild(QPushButton, "provider_wechat") is not None, timeout=15_000)
    button = login.findChild(QPushButton, "provider_wechat")
    assert button.isVisible() and "WeChat" in button.text()

    qtbot.mouseClick(button, Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(browser.opened), timeout=10_000)
    assert login.waiting_label.isVisible()
    assert browser.opened[0].startswith(f"{server.http_url}/oauth/wechat/start?")
    page = visit(browser.opened[0])
    assert page.status_code == 200 and page.url.startswith(f"{server.http_url}/oauth/wechat/callback")

    qtbot.waitUntil(app.lobby.isVisible, timeout=15_000)
    assert not login.isVisible()
    assert app.profile is not None and app.profile["display_name"] == "Li Lei"
    assert app.lobby.display_name_edit.text() == "Li Lei"

    # The account has WeChat as its only way in: the lobby says so, and the server refuses to unlink it.
    panel = app.lobby.sign_in_methods
    qtbot.waitUntil(lambda: "unlink_wechat" in panel.buttons, timeout=10_000)
    assert "No password" in panel.password_label.text()
    qtbot.mouseClick(panel.buttons["unlink_wechat"], Qt.LeftButton)
    qtbot.waitUntil(panel.message_label.isVisible, timeout=10_000)
    assert "only way" in panel.message_label.text()
    assert panel.buttons["unlink_wechat"].isEnabled()


def test_refusing_at_wechat_shows_why_and_the_buttons_come_back(qtbot, app, browser, server, standin):
    standin.approver = None  # the person refuses on their phone
    login = app.login_window
    qtbot.waitUntil(lambda: login.findChild(QPushButton, "provider_wechat") is not None, timeout=15_000)
    qtbot.mouseClick(login.findChild(QPushButton, "provider_wechat"), Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(browser.opened), timeout=10_000)
    visit(browser.opened[0])
    qtbot.waitUntil(login.error_label.isVisible, timeout=15_000)
    assert "refused" in login.error_label.text() or "cancelled" in login.error_label.text()
    assert not login.waiting_label.isVisible()
    assert login.findChild(QPushButton, "provider_wechat").isEnabled() and login.login_button.isEnabled()
    assert not app.lobby.isVisible()


def test_cancel_while_the_browser_is_out_lets_a_later_visit_log_nobody_in(qtbot, app, browser, server):
    login = app.login_window
    qtbot.waitUntil(lambda: login.findChild(QPushButton, "provider_wechat") is not None, timeout=15_000)
    qtbot.mouseClick(login.findChild(QPushButton, "provider_wechat"), Qt.LeftButton)
    qtbot.waitUntil(lambda: bool(browser.opened), timeout=10_000)
    qtbot.mouseClick(login.cancel_provider_button, Qt.LeftButton)
    assert login.login_button.isEnabled() and not login.waiting_label.isVisible()
    # The app dropped that connection, so the server forgot the login: finishing it now does nothing.
    qtbot.waitUntil(lambda: app.session.client is None, timeout=10_000)
    page = visit(browser.opened[0])
    assert page.status_code >= 400
    assert not app.lobby.isVisible()
