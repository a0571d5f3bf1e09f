"""The desktop client and a self-signed server: the fingerprint shown and asked about once, the key
pinned, the same key accepted silently, a changed key refused with a clear dialog."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QMessageBox, QPushButton

from protocol.fingerprint import grouped
from qt_client.app import MeetingApp
from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.trust_dialogs import KEY_CHANGED_TITLE
from server.tls_identity import load_identity
from tests.conftest import free_base_port, running_meeting_server
from tests.desktop_support import PASSWORD
from tests.tls_support import shared_identity


def _settings(path: Path) -> ClientSettings:
    settings = ClientSettings(str(path))  # no CA file: the test server is an unknown self-signed one
    settings.microphone, settings.codec, settings.size = "silence", "jpeg", "320x240"
    return settings


def _submit(qtbot: Any, app: MeetingApp, port: int, user: str, register: bool) -> None:
    login = app.login_window
    login.server_edit.setText(f"127.0.0.1:{port}")
    login.user_edit.setText(user)
    login.password_edit.setText(PASSWORD)
    qtbot.mouseClick(login.register_button if register else login.login_button, Qt.LeftButton)


def _question(qtbot: Any, app: MeetingApp) -> QMessageBox:
    qtbot.waitUntil(lambda: app.trust_prompt.box is not None and app.trust_prompt.box.isVisible(),
                    timeout=10_000)
    return app.trust_prompt.box


def test_first_use_asks_once_then_the_same_key_is_silent_and_a_changed_key_is_refused(qtbot, tmp_path):
    port = free_base_port()
    settings_path = tmp_path / "client.ini"
    db = f"sqlite:///{tmp_path}/m.db"
    with running_meeting_server(db, port=port):
        app = MeetingApp(_settings(settings_path))
        try:
            _submit(qtbot, app, port, "newcomer", register=True)
            box = _question(qtbot, app)
            assert grouped(shared_identity().fingerprint) in box.text()
            assert not app.lobby.isVisible()  # nothing goes on until the person answers
            box.findChild(QPushButton, "trust_server").click()
            qtbot.waitUntil(app.lobby.isVisible, timeout=10_000)
        finally:
            app.close()
        pins = json.loads((tmp_path / "known_servers.json").read_text())
        assert pins == {f"127.0.0.1:{port}": shared_identity().fingerprint}

        again = MeetingApp(_settings(settings_path))
        try:
            _submit(qtbot, again, port, "newcomer", register=False)
            qtbot.waitUntil(again.lobby.isVisible, timeout=10_000)
            assert again.trust_prompt.box is None  # never asked
        finally:
            again.close()

    other = load_identity(None, None, str(tmp_path / "reinstalled"))
    with running_meeting_server(db, port=port, cert_file=other.cert_file, key_file=other.key_file):
        changed = MeetingApp(_settings(settings_path))
        try:
            _submit(qtbot, changed, port, "newcomer", register=False)
            qtbot.waitUntil(lambda: changed.dialog is not None and changed.dialog.isVisible(), timeout=10_000)
            assert changed.dialog.windowTitle() == KEY_CHANGED_TITLE
            assert shared_identity().fingerprint in changed.dialog.text()
            assert other.fingerprint in changed.dialog.text()
            assert changed.trust_prompt.box is None  # refused, not asked again
            assert not changed.lobby.isVisible()
            assert "key changed" in changed.login_window.error_label.text()
        finally:
            changed.close()
    assert json.loads((tmp_path / "known_servers.json").read_text())[f"127.0.0.1:{port}"] == \
        shared_identity().fingerprint


def test_declining_the_key_connects_nothing_and_pins_nothing(qtbot, tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        app = MeetingApp(_settings(tmp_path / "client.ini"))
        try:
            _submit(qtbot, app, server.control_port, "careful", register=True)
            _question(qtbot, app).button(QMessageBox.Cancel).click()
            qtbot.waitUntil(lambda: "not trusted" in app.login_window.error_label.text(), timeout=10_000)
            assert not app.lobby.isVisible()
            assert server.stats()["sessions"] == 0
        finally:
            app.close()
    assert not (tmp_path / "known_servers.json").exists()
