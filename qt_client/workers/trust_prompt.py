"""Asks the person on the GUI thread whether to trust a server, for the session worker waiting on its own."""

from __future__ import annotations

import threading

from PyQt5.QtCore import QObject, pyqtSignal, pyqtSlot
from PyQt5.QtWidgets import QMessageBox, QWidget

from qt_client.ui.trust_dialogs import ask_to_trust_server

# A question nobody answers is a no, so that a login never hangs for good.
ANSWER_TIMEOUT = 300.0


class TrustPrompt(QObject):
    """Lives on the GUI thread. `ask` (a ServerTrust's AskTrust) is called on the session thread,
    which blocks while the question is open; the dialog itself never blocks the GUI."""

    _asked = pyqtSignal(str, int, str, str, object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__()
        self.parent_widget = parent_widget
        self.box: QMessageBox | None = None  # the open question, for tests and for close()
        self._waiting: list[threading.Event] = []
        self._closed = False  # once the app closes, nobody is there to answer: every question is a no
        self._asked.connect(self._open)

    def ask(self, host: str, port: int, fingerprint: str, reason: str) -> bool:
        if self._closed:
            return False
        answer: list[bool] = []
        done = threading.Event()
        self._waiting.append(done)
        try:
            self._asked.emit(host, port, fingerprint, reason, (answer, done))
            done.wait(ANSWER_TIMEOUT)
        finally:
            self._waiting.remove(done)
        return bool(answer and answer[0])

    def cancel_all(self) -> None:
        """The app closes: every waiting question is answered no, and so is any asked later."""
        self._closed = True
        for done in list(self._waiting):
            done.set()
        if self.box is not None:
            self.box.close()

    @pyqtSlot(str, int, str, str, object)
    def _open(self, host: str, port: int, fingerprint: str, reason: str, reply: tuple) -> None:
        answer, done = reply

        def on_answer(trusted: bool) -> None:
            answer.append(trusted)
            self.box = None
            done.set()

        self.box = ask_to_trust_server(self.parent_widget, host, port, fingerprint, reason, on_answer)
