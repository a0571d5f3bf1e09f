"""One message of ours the server has not taken yet: "sending…", or "not sent" with a Retry button."""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget

SENDING_STYLE = "color: #888; font-style: italic;"
FAILED_STYLE = "color: #e53935; font-weight: bold;"


class PendingMessage(QWidget):
    """Plain text only: the line is what the user typed, shown back to them verbatim."""

    retry_clicked = pyqtSignal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text_label = QLabel(text)
        self.text_label.setTextFormat(Qt.PlainText)
        self.text_label.setWordWrap(True)
        self.text_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.status_label = QLabel()
        self.status_label.setObjectName("status")
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("retry")
        self.retry_button.setFlat(True)
        self.retry_button.setCursor(Qt.PointingHandCursor)
        self.retry_button.setStyleSheet("color: #1e88e5; text-decoration: underline; padding: 0 4px;")
        self.retry_button.clicked.connect(self.retry_clicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.retry_button)
        self.set_failed(False)

    @property
    def failed(self) -> bool:
        return not self.retry_button.isHidden()

    def set_failed(self, failed: bool) -> None:
        self.status_label.setText("not sent" if failed else "sending…")
        self.status_label.setStyleSheet(FAILED_STYLE if failed else SENDING_STYLE)
        self.retry_button.setVisible(failed)
