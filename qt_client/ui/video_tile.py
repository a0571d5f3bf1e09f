"""One participant in the room: their video, or their avatar when there is no picture to show.

Public API (VideoTile):
    signals   clicked(), double_clicked()   a double click's second click is not also a click
    video     show_image(QImage), set_camera_off(bool), set_avatar(bytes | QPixmap | None),
              displayed_size() -> QSize (device pixels the video is drawn at: decode to this)
    status    set_name(str), set_microphone_muted(bool), set_speaking(bool), set_level(db),
              set_presenting(bool), set_quality(fps, dropped), set_local(bool) (own tile: no quality)
    state     name, frames_shown, speaking, microphone_muted, presenting, camera_off, is_local
"""

from __future__ import annotations

from PyQt5.QtCore import QRect, QSize, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPixmap
from PyQt5.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from qt_client.ui.avatar_pixmap import initials_pixmap
from qt_client.ui.mic_muted_icon import MicMutedIcon
from qt_client.ui.volume_meter import VolumeMeter

STALE_AFTER_MS = 2000  # no frame for this long: the sender stopped or the network did; show the avatar
BORDER = 3
SPEAKING_COLOUR = QColor("#43a047")
IDLE_COLOUR = QColor("#303030")
BACKGROUND = QColor("#111111")
QUALITY_COLOURS = {"good": "#43a047", "fair": "#ffb300", "poor": "#e53935"}
FAIR_DROP_RATIO = 0.02  # of the frames a sender sent over the stats period
POOR_DROP_RATIO = 0.10


def quality_level(fps: float, dropped: int) -> str:
    """"good", "fair" or "poor" from a stats period's shown and dropped frames; a frozen picture is poor."""
    total = fps + dropped
    ratio = dropped / total if total > 0 else 0.0
    if fps < 1.0 or ratio >= POOR_DROP_RATIO:
        return "poor"
    return "fair" if ratio >= FAIR_DROP_RATIO else "good"


def _badge(text: str, style: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.PlainText)
    label.setStyleSheet(style)
    label.hide()
    return label


class VideoArea(QWidget):
    """Paints only the latest image on demand: frames that arrive faster than paints are simply replaced."""

    def __init__(self, name: str, avatar: QPixmap | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WA_OpaquePaintEvent)  # we fill every pixel; Qt need not clear first
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(80, 45)
        self.name = name
        self.camera_off = False
        self.frames_shown = 0
        self._avatar = avatar
        self._avatar_scaled: QPixmap | None = None  # at the last side painted: no rescale per paint
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

    @property
    def avatar(self) -> QPixmap | None:
        return self._avatar

    def set_avatar(self, avatar: QPixmap | None) -> None:
        self._avatar = avatar
        self._avatar_scaled = None
        self.update()

    def set_name(self, name: str) -> None:
        self.name = name
        self._avatar_scaled = None
        self.update()

    def show_image(self, image: QImage) -> None:
        self._image = image
        self._serial += 1
        self._stale.start()
        self.update()

    def image_rect(self) -> QRect:
        """Where the current image lands: scaled to fit, aspect kept, centred."""
        if self._image is None:
            return QRect(self.rect())
        size = self._image.size().scaled(self.size(), Qt.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(self.rect().center())
        return target

    def _drop_stale_image(self) -> None:
        self._image = None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self.showing_video:
            self._paint_image(painter)
        else:
            painter.fillRect(self.rect(), BACKGROUND)
            self._paint_avatar(painter)
        painter.end()

    def _paint_image(self, painter: QPainter) -> None:
        target = self.image_rect()
        # Only the bars around the picture get the background: each pixel is written once.
        width, height = self.width(), self.height()
        top, bottom, left, right = target.top(), target.bottom() + 1, target.left(), target.right() + 1
        painter.fillRect(0, 0, width, top, BACKGROUND)
        painter.fillRect(0, bottom, width, height - bottom, BACKGROUND)
        painter.fillRect(0, top, left, target.height(), BACKGROUND)
        painter.fillRect(right, top, width - right, target.height(), BACKGROUND)
        # Nearest-neighbour scaling, straight from the frame: no smoothing pass, no scaled copy.
        painter.drawImage(target, self._image)
        if self._painted_serial != self._serial:
            self._painted_serial = self._serial
            self.frames_shown += 1

    def _paint_avatar(self, painter: QPainter) -> None:
        side = max(16, min(self.width(), self.height()) // 2)
        pixmap = self._avatar_scaled
        if pixmap is None or max(pixmap.width(), pixmap.height()) != side:
            if self._avatar is not None and not self._avatar.isNull():
                pixmap = self._avatar.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            else:
                pixmap = initials_pixmap(self.name, side)
            self._avatar_scaled = pixmap
        target = QRect(0, 0, pixmap.width(), pixmap.height())
        target.moveCenter(self.rect().center())
        painter.drawPixmap(target, pixmap)
        painter.setPen(Qt.white)
        below = QRect(0, target.bottom() + 4, self.width(), painter.fontMetrics().height() + 4)
        painter.drawText(below, Qt.AlignHCenter | Qt.AlignTop, self.name)


class VideoTile(QFrame):
    """A tile with a name, a picture, a level meter and a green border while the person speaks."""

    clicked = pyqtSignal()
    double_clicked = pyqtSignal()

    def __init__(self, name: str, avatar: QPixmap | None = None, parent: QWidget | None = None,
                 show_meter: bool = True) -> None:
        super().__init__(parent)
        self._speaking = False
        self._local = False
        self._has_quality = False
        self._swallow_release = False
        self.video = VideoArea(name, avatar, self)
        self.mic_muted_icon = MicMutedIcon(self)
        self.mic_muted_icon.hide()
        self.name_label = QLabel(name)
        self.name_label.setObjectName("name")
        self.name_label.setTextFormat(Qt.PlainText)  # names are other people's text, never markup
        self.name_label.setStyleSheet("color: white;")
        self.name_label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # small tiles cut it
        self.presenting_label = _badge(
            "Presenting", "background: #1e88e5; color: white; border-radius: 3px; padding: 0 4px;")
        self.presenting_label.setObjectName("presenting")
        self.quality_label = _badge("", "")
        self.quality_label.setObjectName("quality")
        self.meter = VolumeMeter(self)
        self.meter.setMaximumWidth(120)
        self.meter.setVisible(show_meter)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(4, 2, 4, 2)
        bottom.setSpacing(4)
        bottom.addWidget(self.mic_muted_icon)
        bottom.addWidget(self.name_label, 1)
        bottom.addWidget(self.presenting_label)
        bottom.addWidget(self.quality_label)
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

    @property
    def microphone_muted(self) -> bool:
        return not self.mic_muted_icon.isHidden()

    @property
    def presenting(self) -> bool:
        return not self.presenting_label.isHidden()

    @property
    def camera_off(self) -> bool:
        return self.video.camera_off

    @property
    def is_local(self) -> bool:
        return self._local

    def show_image(self, image: QImage) -> None:
        """Keeps image for the next paint; image must own its pixels (QImage.copy() from a worker buffer)."""
        self.video.show_image(image)

    def displayed_size(self) -> QSize:
        """Device pixels the picture is drawn at (the whole area before any frame): decode no larger."""
        size = self.video.image_rect().size()
        ratio = self.video.devicePixelRatioF()
        return QSize(round(size.width() * ratio), round(size.height() * ratio))

    def set_name(self, name: str) -> None:
        self.name_label.setText(name)
        self.video.set_name(name)

    def set_avatar(self, avatar: bytes | QPixmap | None) -> None:
        """The picture shown while the camera is off: PNG or JPEG bytes, a pixmap, or None for initials."""
        if isinstance(avatar, bytes | bytearray):
            pixmap = QPixmap()
            avatar = pixmap if avatar and pixmap.loadFromData(bytes(avatar)) else None
        self.video.set_avatar(avatar)

    def set_camera_off(self, off: bool) -> None:
        if off == self.video.camera_off:
            return  # every member push repeats it: no repaint for nothing
        self.video.camera_off = off
        self.video.update()
        self._show_quality()

    def set_microphone_muted(self, muted: bool) -> None:
        self.mic_muted_icon.setVisible(muted)

    def set_presenting(self, presenting: bool) -> None:
        self.presenting_label.setVisible(presenting)

    def set_local(self, local: bool) -> None:
        """One's own tile: nothing is received for it, so it has no quality to show."""
        self._local = local
        self._show_quality()

    def set_quality(self, fps: float, dropped: int) -> None:
        """Frames shown and dropped over the last stats period (about a second) for this sender."""
        colour = QUALITY_COLOURS[quality_level(fps, dropped)]
        self.quality_label.setText(f"{fps:.0f} fps")
        self.quality_label.setToolTip(f"Receiving {fps:.1f} frames a second, {dropped} dropped")
        self.quality_label.setStyleSheet(
            f"background: {colour}; color: black; border-radius: 3px; padding: 0 4px;")
        self._has_quality = True
        self._show_quality()

    def _show_quality(self) -> None:
        self.quality_label.setVisible(self._has_quality and not self._local and not self.video.camera_off)

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

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.LeftButton:
            self._swallow_release = True  # the first click already counted; this one is the double's
            self.double_clicked.emit()
        super().mouseDoubleClickEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        swallow, self._swallow_release = self._swallow_release, False
        if event.button() == Qt.LeftButton and self.rect().contains(event.pos()) and not swallow:
            self.clicked.emit()
        super().mouseReleaseEvent(event)
