"""The two questions TLS puts to a person: trust this new server's key? and: its key changed."""

from __future__ import annotations

from collections.abc import Callable

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QMessageBox, QWidget

from protocol.fingerprint import grouped
from qt_client.ui.dialogs import show_error_dialog

KEY_CHANGED_TITLE = "Server key changed: not connected"


def ask_to_trust_server(parent: QWidget | None, host: str, port: int, fingerprint: str, reason: str,
                        on_answer: Callable[[bool], None]) -> QMessageBox:
    """Opens (never blocks) the first-use question; `on_answer(True)` once if trusted, else False."""
    text = (f"The server {host}:{port} uses a certificate that no authority this computer trusts "
            f"vouches for ({reason}). That is normal for a server with a self-signed certificate.\n\n"
            f"Its key's SHA-256 fingerprint is:\n{grouped(fingerprint)}\n\n"
            "Compare it with the one the server's operator gave you. Trust it, this once and from now on? "
            "If the key ever changes you will be warned and not connected.")
    box = QMessageBox(QMessageBox.Question, "Trust this server?", text, QMessageBox.Cancel, parent)
    box.setObjectName("trust_server_question")
    trust = box.addButton("Trust and connect", QMessageBox.AcceptRole)
    trust.setObjectName("trust_server")
    box.setDefaultButton(QMessageBox.Cancel)
    box.setTextInteractionFlags(Qt.TextSelectableByMouse)  # the fingerprint can be copied
    box.setAttribute(Qt.WA_DeleteOnClose)
    answered: list[bool] = []

    def finished(_result: int) -> None:
        if not answered:
            answered.append(box.clickedButton() is trust)
            on_answer(answered[0])

    box.finished.connect(finished)
    box.open()
    return box


def show_server_key_changed(parent: QWidget | None, message: str) -> QMessageBox:
    """Says why nothing connects: the pinned key is not the one the server shows now."""
    return show_error_dialog(parent, KEY_CHANGED_TITLE,
                             "The server's key is not the one you trusted before. Someone may be "
                             "intercepting the connection, or the server was reinstalled.\n\n"
                             f"{message}\n\nNot connected. Ask the server's operator before trusting "
                             "a new key.")
