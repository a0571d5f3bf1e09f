"""One participant in the room: their video, or their avatar when there is no picture to show."""

from __future__ import annotations

from PyQt5.QtCore import QRect, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from qt_client.ui.avatar_pixmap import initials_pixmap
from qt_client.ui.volume_meter import VolumeMeter

STALE_AFTER_MS = 2000  # no frame for this long: the sender stopped or the network did; show the avatar
BORDER = 3
SPEAKING_COLOUR = QColor("#43a047")
IDLE_COLOUR = QColor("#303030")
BACKGROUND = QColor("#111111")


class VideoArea(QWidget):
    """Paints only the latest image on demand: frames that arrive faster than paints are simply replaced."""

    def __init__(self, name: str, avatar: QPixmap | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # we fill every pixel; Qt need not clear first
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(80, 60)
        self.name = name
        self.avatar = avatar
        self.camera_off = False
        self.frames_shown = 0
        self._image: QImage | None = None
        self._serial = 0
        self._painted_serial = 0
        self._stale = QTimer(self)
        self._stale.setSingleShot(True)
        self._stale.setInterval(STALE_AFTER_MS)
        self._stale.timeout.connect(self._drop_stale_image)

    @property
    def showing_video(self) -> bool:
        return self._image is not None and not self.camera_off

    def show_image(self, image: QImage) -> None:
        self._image = image
        self._serial += 1
        self._stale.start()
        self.update()

    def _drop_stale_image(self) -> None:
        self._image = None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        if self.showing_video:
            self._paint_image(painter)
        else:
            self._paint_avatar(painter)
        painter.end()

    def _paint_image(self, painter: QPainter) -> None:
        image = self._image
        size = image.size().scaled(self.size(), Qt.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(self.rect().center())
        painter.setRenderHint(QPainter.SmoothPixmapTransform)
        painter.drawImage(target, image)
        if self._painted_serial != self._serial:
            self._painted_serial = self._serial
            self.frames_shown += 1

    def _paint_avatar(self, painter: QPainter) -> None:
        side = max(16, min(self.width(), self.height()) // 2)
        if self.avatar is not None and not self.avatar.isNull():
            pixmap = self.avatar.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        else:
            pixmap = initials_pixmap(self.name, side)
        target = QRect(0, 0, pixmap.width(), pixmap.height())
        target.moveCenter(self.rect().center())
        painter.drawPixmap(target, pixmap)
        painter.setPen(Qt.white)
        below = QRect(0, target.bottom() + 4, self.width(), painter.fontMetrics().height() + 4)
        painter.drawText(below, Qt.AlignHCenter | Qt.AlignTop, self.name)


class VideoTile(QFrame):
    """A tile with a name, a picture, a level meter and a green border while the person speaks."""

    clicked = pyqtSignal()

    def __init__(self, name: str, avatar: QPixmap | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._speaking = False
        self.video = VideoArea(name, avatar, self)
        self.name_label = QLabel(name)
        self.name_label.setObjectName("name")
        self.name_label.setStyleSheet("color: white;")
        self.meter = VolumeMeter(self)
        self.meter.setMaximumWidth(120)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(4, 2, 4, 2)
        bottom.addWidget(self.name_label, 1)
        bottom.addWidget(self.meter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(BORDER, BORDER, BORDER, BORDER)
        layout.setSpacing(0)
        layout.addWidget(self.video, 1)
        layout.addLayout(bottom)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    @property
    def name(self) -> str:
        return self.video.name

    @property
    def frames_shown(self) -> int:
        """Frames actually painted, which is fewer than frames given when painting falls behind."""
        return self.video.frames_shown

    @property
    def speaking(self) -> bool:
        return self._speaking

    def show_image(self, image: QImage) -> None:
        """Keeps image for the next paint; image must own its pixels (QImage.copy() from a worker buffer)."""
        self.video.show_image(image)

    def set_name(self, name: str) -> None:
        self.name_label.setText(name)
        self.video.name = name
        self.video.update()

    def set_avatar(self, avatar: QPixmap | None) -> None:
        self.video.avatar = avatar
        self.video.update()

    def set_camera_off(self, off: bool) -> None:
        self.video.camera_off = off
        self.video.update()

    def set_speaking(self, speaking: bool) -> None:
        if speaking != self._speaking:
            self._speaking = speaking
            self.update()

    def set_level(self, db: float) -> None:
        self.meter.set_level(db)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        colour = SPEAKING_COLOUR if self._speaking else IDLE_COLOUR
        rect = self.rect()
        # Four strips as wide as the layout margins: the border never covers the picture.
        painter.fillRect(0, 0, rect.width(), BORDER, colour)
        painter.fillRect(0, rect.height() - BORDER, rect.width(), BORDER, colour)
        painter.fillRect(0, 0, BORDER, rect.height(), colour)
        painter.fillRect(rect.width() - BORDER, 0, BORDER, rect.height(), colour)
        painter.end()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton and self.rect().contains(event.pos()):
            self.clicked.emit()
        super().mouseReleaseEvent(event)
