"""The crossed-out microphone people look for to tell who is muted."""

from __future__ import annotations

from PyQt5.QtCore import QPointF, QRectF, QSize, Qt
from PyQt5.QtGui import QColor, QPainter, QPaintEvent, QPen
from PyQt5.QtWidgets import QWidget

MUTED_COLOUR = QColor("#e53935")
SIDE = 18


class MicMutedIcon(QWidget):
    """Drawn with QPainter, not a font glyph: every machine has the pixels, not every font the emoji."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(SIDE, SIDE)
        self.setToolTip("Microphone muted")

    def sizeHint(self) -> QSize:
        return QSize(SIDE, SIDE)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        side = float(min(self.width(), self.height()))
        painter.setPen(Qt.NoPen)
        painter.setBrush(MUTED_COLOUR)
        painter.drawEllipse(QRectF(0, 0, side, side))
        pen = QPen(Qt.white, max(1.0, side / 12))
        pen.setCapStyle(Qt.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.white)
        # The capsule, its cradle and stand, then the slash across them.
        capsule = QRectF(side * 0.40, side * 0.20, side * 0.20, side * 0.38)
        painter.drawRoundedRect(capsule, side * 0.1, side * 0.1)
        painter.setBrush(Qt.NoBrush)
        painter.drawArc(QRectF(side * 0.30, side * 0.30, side * 0.40, side * 0.40), 180 * 16, 180 * 16)
        painter.drawLine(QPointF(side * 0.5, side * 0.70), QPointF(side * 0.5, side * 0.80))
        painter.drawLine(QPointF(side * 0.25, side * 0.25), QPointF(side * 0.75, side * 0.78))
        painter.end()
