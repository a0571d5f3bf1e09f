"""The lobby's "Sign-in methods": which providers lead into this account, and adding or removing one."""

from __future__ import annotations

from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

WAITING_TEXT = "Waiting for you to finish in your browser…"


class SignInMethodsPanel(QGroupBox):
    """Shows the server's answer and emits what the person asks; hidden on servers without providers."""

    link_requested = pyqtSignal(str)
    unlink_requested = pyqtSignal(str)
    link_cancelled = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sign-in methods", parent)
        self.setObjectName("sign_in_methods")
        self.buttons: dict[str, QPushButton] = {}  # objectName -> button, for the rows shown now
        self._rows = QGridLayout()
        self.password_label = QLabel()
        self.password_label.setObjectName("password_method")
        self.message_label = QLabel()
        self.message_label.setObjectName("sign_in_message")
        # The server's messages may quote names: text, never markup.
        self.message_label.setTextFormat(Qt.PlainText)
        self.message_label.setWordWrap(True)
        self.message_label.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel_link")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self._cancel)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message_label, 1)
        bottom.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.password_label)
        layout.addLayout(self._rows)
        layout.addLayout(bottom)
        self.hide()

    def set_methods(self, providers: list[dict[str, Any]], linked: list[str] | None,
                    has_password: bool) -> None:
        """One row per provider the server offers: linked ones with Unlink, the others with Link.

        `linked` None: not known yet (asked for after login), so no button can be pressed by mistake.
        """
        self._clear_rows()
        self._show_message("")
        self.cancel_button.hide()
        self.setVisible(bool(providers))
        if linked is None:
            self.password_label.setText("Loading…")
            return
        self.password_label.setText("Password: set" if has_password else
                                    "No password: you log in through a provider below.")
        for row, provider in enumerate(providers):
            name = str(provider["name"])
            shown = str(provider.get("display_name") or name)
            if name in linked:
                label, button = QLabel(f"{shown}: linked"), QPushButton("Unlink")
                button.setObjectName(f"unlink_{name}")
                button.clicked.connect(lambda _checked=False, name=name: self._unlink(name))
            else:
                label, button = QLabel(shown), QPushButton(f"Link {shown}")
                button.setObjectName(f"link_{name}")
                button.clicked.connect(lambda _checked=False, name=name: self._link(name))
            self._rows.addWidget(label, row, 0)
            self._rows.addWidget(button, row, 1)
            label.show()  # at once: a shown panel would only show new children after its next event
            button.show()
            self.buttons[button.objectName()] = button

    def failed(self, message: str) -> None:
        """The server said no (LAST_LOGIN_METHOD, ALREADY_LINKED...): its words, and the buttons back."""
        self._set_enabled(True)
        self.cancel_button.hide()
        self._show_message(message, "#c62828")

    def show_message(self, message: str) -> None:
        self._show_message(message)

    def _link(self, name: str) -> None:
        self._set_enabled(False)
        self.cancel_button.show()
        self._show_message(WAITING_TEXT)
        self.link_requested.emit(name)

    def _unlink(self, name: str) -> None:
        self._set_enabled(False)  # until the server answers
        self.unlink_requested.emit(name)

    def _cancel(self) -> None:
        self._set_enabled(True)
        self.cancel_button.hide()
        self._show_message("")
        self.link_cancelled.emit()

    def _set_enabled(self, enabled: bool) -> None:
        for button in self.buttons.values():
            button.setEnabled(enabled)

    def _show_message(self, message: str, colour: str = "#424242") -> None:
        self.message_label.setStyleSheet(f"color: {colour};")
        self.message_label.setText(message)
        self.message_label.setVisible(bool(message))

    def _clear_rows(self) -> None:
        while self._rows.count():
            widget = self._rows.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.buttons = {}
