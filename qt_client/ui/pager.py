"""Previous / next buttons and "page 2/3", for tile lists longer than a screen."""

from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget


class Pager(QWidget):
    """Hidden while everything fits on one page; emits page_changed(index) when the user turns a page."""

    page_changed = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._page = 0
        self._count = 1
        self.prev_button = QToolButton()
        self.prev_button.setText("<")
        self.prev_button.setToolTip("Previous page")
        self.next_button = QToolButton()
        self.next_button.setText(">")
        self.next_button.setToolTip("Next page")
        self.label = QLabel()
        self.label.setStyleSheet("color: white;")
        self.label.setAlignment(Qt.AlignCenter)
        self.prev_button.clicked.connect(lambda: self._turn(-1))
        self.next_button.clicked.connect(lambda: self._turn(1))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.prev_button)
        layout.addWidget(self.label)
        layout.addWidget(self.next_button)
        self.set_pages(0, 1)

    @property
    def page(self) -> int:
        return self._page

    @property
    def count(self) -> int:
        return self._count

    def set_pages(self, page: int, count: int) -> None:
        """Shows page (0-based) of count without emitting: the owner already knows."""
        self._count = max(1, count)
        self._page = min(max(0, page), self._count - 1)
        self.label.setText(f"page {self._page + 1}/{self._count}")
        self.prev_button.setEnabled(self._page > 0)
        self.next_button.setEnabled(self._page < self._count - 1)
        self.setVisible(self._count > 1)

    def _turn(self, step: int) -> None:
        page = min(max(0, self._page + step), self._count - 1)
        if page != self._page:
            self.set_pages(page, self._count)
            self.page_changed.emit(page)
