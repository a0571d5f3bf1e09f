"""The meeting's row of controls: every button stays on screen, with short labels when space is short.

A QToolBar would push what does not fit into an overflow menu, and Leave is usually what falls off.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt5 import sip
from PyQt5.QtCore import QSize, Qt
from PyQt5.QtGui import QResizeEvent
from PyQt5.QtWidgets import QAction, QHBoxLayout, QSizePolicy, QToolButton, QWidget

Labels = tuple[str, str]  # (long, short)


@dataclass
class _Control:
    action: QAction
    button: QToolButton
    labels: Labels
    checked_labels: Labels | None
    reserve: Labels | None  # labels it may get later ("Chat (99)"): room is kept for them from the start

    def label(self, compact: bool) -> str:
        labels = self.checked_labels if self.checked_labels and self.action.isChecked() else self.labels
        return labels[1] if compact else labels[0]

    def widest(self, compact: bool) -> int:
        """Pixels for the widest of its labels: toggling never changes how much room the bar needs."""
        metrics = self.button.fontMetrics()
        padding = self.button.sizeHint().width() - metrics.horizontalAdvance(self.button.text())
        choices = (self.labels, self.checked_labels, self.reserve)
        texts = [labels[1] if compact else labels[0] for labels in choices if labels]
        return padding + max(metrics.horizontalAdvance(text) for text in texts)


class ControlBar(QWidget):
    """Buttons for actions; labels follow each action's checked state and shorten to fit the width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._controls: dict[int, _Control] = {}
        self._compact = False
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(6, 4, 6, 4)
        self._layout.setSpacing(4)
        # Never narrower than the short labels need: the window stops shrinking before a button is cut.
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)

    @property
    def compact(self) -> bool:
        return self._compact

    def add_action(self, action: QAction, labels: Labels, checked_labels: Labels | None = None,
                   reserve: Labels | None = None) -> QToolButton:
        """A button for action showing labels (checked_labels while the action is checked).

        Each is (long, short); reserve is the widest labels set_labels may give it later.
        """
        button = QToolButton(self)
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        button.setObjectName(f"{action.objectName()}_button")
        control = _Control(action, button, labels, checked_labels, reserve)
        self._controls[id(action)] = control
        action.toggled.connect(lambda _on: self.relabel())
        self._layout.addWidget(button)
        self.relabel()
        return button

    def add_stretch(self) -> None:
        self._layout.addStretch(1)

    def button(self, action: QAction) -> QToolButton:
        return self._controls[id(action)].button

    def set_labels(self, action: QAction, labels: Labels) -> None:
        self._controls[id(action)].labels = labels
        self.relabel()

    def minimumSizeHint(self) -> QSize:
        return QSize(self._width(compact=True), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(self._width(compact=False), super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.relabel()

    def _live(self) -> list[_Control]:
        """Controls whose action still exists: an owner may delete its actions before the bar."""
        for key in [key for key, control in self._controls.items() if sip.isdeleted(control.action)]:
            del self._controls[key]
        return list(self._controls.values())

    def _width(self, compact: bool) -> int:
        controls = self._live()
        margins = self._layout.contentsMargins()
        spacing = self._layout.spacing() * max(0, len(controls) - 1)  # stretches take no spacing
        buttons = sum(control.widest(compact) for control in controls)
        return buttons + spacing + margins.left() + margins.right()

    def relabel(self) -> None:
        """Long labels when they all fit in the bar's width, else short ones; call after a silent toggle."""
        self._compact = self._width(compact=False) > self.width()
        for control in self._live():
            text = control.label(self._compact)
            if control.action.iconText() != text:
                control.action.setIconText(text)
        self.updateGeometry()
