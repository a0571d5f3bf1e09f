"""The first window: where the user says which server to use and who they are."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from protocol.errors import ProtocolError
from protocol.names import checked_username
from protocol.password_rules import RULES_TEXT, check_new_password

DEFAULT_PORT = 9000


def normalize_server(address: str) -> str:
    """Adds the default control port when the user typed only a host, the usual case."""
    address = address.strip()
    host, sep, port = address.rpartition(":")
    # "[::1]" and "host" have no port; "host:9100" and "[::1]:9100" do.
    if sep and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return address
    return f"{address}:{DEFAULT_PORT}"


def provider_button_text(provider: dict[str, Any]) -> str:
    """What a provider's button says; WeChat's tells the person a QR code is coming, not a password form."""
    text = f"Log in with {provider.get('display_name') or provider['name']}"
    return f"{text} (scan the QR code)" if provider.get("kind") == "wechat" else text


class LoginWindow(QWidget):
    """Log in or register; checks the fields first so the server only sees complete requests, and
    a new account's name and password against the server's own rules, with the server's words."""

    login_requested = pyqtSignal(str, str, str)
    register_requested = pyqtSignal(str, str, str)
    # The server (host:port) whose login providers the window should offer: at start and once edited.
    providers_wanted = pyqtSignal(str)
    provider_login_requested = pyqtSignal(str, str)  # server, provider name
    provider_login_cancelled = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("mini-meeting: log in")
        self.server_edit = QLineEdit("127.0.0.1:9000")
        self.server_edit.setObjectName("server")
        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("user")
        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("password")
        self.password_edit.setEchoMode(QLineEdit.Password)
        self.login_button = QPushButton("Log in")
        self.login_button.setObjectName("login")
        self.login_button.setDefault(True)
        self.register_button = QPushButton("Register")
        self.register_button.setObjectName("register")
        self.password_rules = QLabel(f"A new account's password: {RULES_TEXT}.")
        self.password_rules.setObjectName("password_rules")
        self.password_rules.setStyleSheet("color: #757575;")
        self.password_rules.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("error")
        # Errors quote the server, which may quote what someone typed: shown as text, never markup.
        self.error_label.setTextFormat(Qt.PlainText)
        self.error_label.setStyleSheet("color: #c62828;")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        self.providers_row = QHBoxLayout()
        self.provider_buttons: dict[str, QPushButton] = {}
        # The server whose providers were asked for last: focus leaving the field unchanged asks nothing
        # (each ask may dial the server, and ask the person again whether to trust it).
        self._providers_asked_of = ""
        self.waiting_label = QLabel("Waiting for you to finish in your browser…")
        self.waiting_label.setObjectName("waiting_for_browser")
        self.cancel_provider_button = QPushButton("Cancel")
        self.cancel_provider_button.setObjectName("cancel_provider_login")
        waiting = QHBoxLayout()
        waiting.addWidget(self.waiting_label, 1)
        waiting.addWidget(self.cancel_provider_button)
        self.waiting_label.hide()
        self.cancel_provider_button.hide()

        form = QFormLayout()
        form.addRow("Server", self.server_edit)
        form.addRow("User name", self.user_edit)
        form.addRow("Password", self.password_edit)
        form.addRow("", self.password_rules)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.register_button)
        buttons.addWidget(self.login_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        layout.addLayout(self.providers_row)
        layout.addLayout(waiting)

        self.server_edit.editingFinished.connect(self.ask_for_providers)
        self.cancel_provider_button.clicked.connect(self._cancel_provider_login)
        self.login_button.clicked.connect(lambda: self._submit(self.login_requested))
        self.register_button.clicked.connect(self._register)
        self.password_edit.returnPressed.connect(lambda: self._submit(self.login_requested))

    def show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))

    def set_busy(self, busy: bool) -> None:
        """While a request is in flight, a second click would only send a duplicate."""
        self.login_button.setEnabled(not busy)
        self.register_button.setEnabled(not busy)
        for button in self.provider_buttons.values():
            button.setEnabled(not busy)
        if busy:
            self.show_error("")
        else:
            self._show_waiting(False)

    @property
    def busy(self) -> bool:
        return not self.login_button.isEnabled()

    def set_providers(self, providers: list[dict[str, Any]]) -> None:
        """One "Log in with ..." button per provider the server offers; none (and no row) without."""
        for button in self.provider_buttons.values():
            self.providers_row.removeWidget(button)
            button.deleteLater()
        self.provider_buttons = {}
        for provider in providers:
            name = str(provider["name"])
            button = QPushButton(provider_button_text(provider))
            button.setObjectName(f"provider_{name}")
            button.setEnabled(not self.busy)
            button.clicked.connect(lambda _checked=False, name=name: self._log_in_with(name))
            self.providers_row.addWidget(button)
            button.show()  # at once: a shown window would only show a new child after its next event
            self.provider_buttons[name] = button

    def provider_login_started(self) -> None:
        """The browser has the provider's page: until it answers, the only thing to do here is Cancel."""
        self.set_busy(True)
        self._show_waiting(True)

    def ask_for_providers(self) -> None:
        server = self.server_edit.text().strip()
        if server and normalize_server(server) != self._providers_asked_of:
            self._providers_asked_of = normalize_server(server)
            self.providers_wanted.emit(self._providers_asked_of)

    def _show_waiting(self, waiting: bool) -> None:
        self.waiting_label.setVisible(waiting)
        self.cancel_provider_button.setVisible(waiting)

    def _log_in_with(self, name: str) -> None:
        server = self.server_edit.text().strip()
        if not server:
            self.show_error("Please enter a server.")
            return
        server = normalize_server(server)
        self.server_edit.setText(server)
        self._providers_asked_of = server
        self.provider_login_started()
        self.provider_login_requested.emit(server, name)

    def _cancel_provider_login(self) -> None:
        self.set_busy(False)
        self.provider_login_cancelled.emit()

    def set_fields(self, server: str, user: str) -> None:
        self.server_edit.setText(server)
        self.user_edit.setText(user)
        # Returning users only need to type the password.
        (self.password_edit if user else self.user_edit).setFocus()

    def _register(self) -> None:
        """The rules a new account must meet, checked here first: no round trip to learn them."""
        try:
            checked_username(self.user_edit.text())
            check_new_password(self.password_edit.text())
        except ProtocolError as exc:
            if self.user_edit.text() and self.password_edit.text():
                self.show_error(exc.message)
                return
        self._submit(self.register_requested)

    def _submit(self, signal: pyqtSignal) -> None:
        if not self.login_button.isEnabled():
            return
        server = self.server_edit.text().strip()
        user = self.user_edit.text()
        password = self.password_edit.text()
        missing = [name for name, value in (("server", server), ("user name", user.strip()),
                                            ("password", password)) if not value]
        if missing:
            self.show_error(f"Please enter a {' and a '.join(missing)}.")
            return
        server = normalize_server(server)
        self.server_edit.setText(server)
        self._providers_asked_of = server  # dialled by this login; its providers come with the login
        self.show_error("")
        signal.emit(server, user, password)
