"""Avatar pictures for people: their uploaded image, or their initials on a colour of their own."""

from __future__ import annotations

import zlib

from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PyQt5.QtGui import QColor, QFont, QImage, QPainter, QPixmap

from protocol.messages import AVATAR_MAX_BYTES

MAX_AVATAR_SIDE = 256  # pictures are resized to this before upload; the server stores them as sent


def initials(name: str) -> str:
    """"Ada Lovelace" -> "AL", "bob" -> "B": enough to tell people apart at a glance."""
    words = name.split()
    if not words:
        return "?"
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


def name_colour(name: str) -> QColor:
    # A stable hash (not hash(), which is salted per process) so a person keeps their colour.
    return QColor.fromHsv(zlib.crc32(name.encode()) % 360, 140, 190)


def initials_pixmap(name: str, size: int) -> QPixmap:
    """A coloured circle with the initials, for people without an avatar image."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(Qt.NoPen)
    painter.setBrush(name_colour(name))
    painter.drawEllipse(QRectF(0, 0, size, size))
    font = QFont()
    font.setPixelSize(max(8, size * 2 // 5))
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(Qt.white)
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignCenter, initials(name))
    painter.end()
    return pixmap


def avatar_pixmap(image_bytes: bytes, name: str, size: int) -> QPixmap:
    """The avatar image scaled to size, or the initials when there is none or it does not decode."""
    pixmap = QPixmap()
    if image_bytes and pixmap.loadFromData(image_bytes):
        return pixmap.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    return initials_pixmap(name, size)


def encode_avatar_png(image: QImage) -> bytes | None:
    """A square PNG (the picture's middle, at most 256x256) small enough for the server; None if
    the image is unreadable. Avatars show as squares and circles: cropping here keeps faces unstretched."""
    if image.isNull():
        return None
    square = min(image.width(), image.height())
    image = image.copy((image.width() - square) // 2, (image.height() - square) // 2, square, square)
    side = MAX_AVATAR_SIDE
    while side >= 16:
        scaled = image
        if image.width() > side or image.height() > side:
            scaled = image.scaled(side, side, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.WriteOnly)
        scaled.save(buffer, "PNG")
        buffer.close()
        if len(data) <= AVATAR_MAX_BYTES:
            return bytes(data)
        side //= 2
    return None
