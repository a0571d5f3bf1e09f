"""VideoTile: what a participant's tile looks like as video arrives, stops, they speak, mute or present."""

from __future__ import annotations

import os

from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, QPoint, Qt
from PyQt5.QtGui import QColor, QImage, QPixmap

from qt_client.ui.video_tile import VideoTile
from tests.desktop_support import double_click

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_tile(qtbot, avatar: QPixmap | None = None) -> VideoTile:
    tile = VideoTile("Ada Lovelace", avatar)
    qtbot.addWidget(tile)
    tile.resize(320, 260)
    tile.show()
    qtbot.waitExposed(tile)
    return tile


def solid(colour: str, width: int = 160, height: int = 120) -> QImage:
    image = QImage(width, height, QImage.Format_RGB32)
    image.fill(QColor(colour))
    return image


def video_centre(tile: VideoTile) -> QColor:
    image = tile.video.grab().toImage()
    return image.pixelColor(image.width() // 2, image.height() // 2)


def count_colour(image: QImage, colour: QColor) -> int:
    return sum(
        1 for y in range(0, image.height(), 2) for x in range(0, image.width(), 2)
        if image.pixelColor(x, y) == colour
    )


def test_show_image_changes_the_pixels(qtbot):
    tile = make_tile(qtbot)
    before = tile.grab().toImage()
    tile.show_image(solid("red"))
    qtbot.waitUntil(lambda: tile.frames_shown == 1, timeout=2000)
    after = tile.grab().toImage()
    assert before != after
    assert video_centre(tile) == QColor("red")
    tile.show_image(solid("blue"))
    assert video_centre(tile) == QColor("blue")
    assert tile.frames_shown == 2


def test_image_keeps_its_aspect_ratio(qtbot):
    tile = make_tile(qtbot)
    tile.show_image(solid("red", 400, 100))  # much wider than the area: bars above and below
    image = tile.video.grab().toImage()
    assert image.pixelColor(image.width() // 2, 2) != QColor("red")
    assert image.pixelColor(image.width() // 2, image.height() // 2) == QColor("red")
    red_rows = [y for y in range(image.height()) if image.pixelColor(image.width() // 2, y) == QColor("red")]
    assert abs(image.width() / len(red_rows) - 4.0) < 0.3


def test_frames_faster_than_paints_are_replaced_not_queued(qtbot):
    tile = make_tile(qtbot)
    for colour in ("red", "green", "blue"):
        tile.show_image(solid(colour))
    assert video_centre(tile) == QColor("blue")
    assert tile.frames_shown == 1


def test_camera_off_shows_initials_instead_of_video(qtbot):
    tile = make_tile(qtbot)
    tile.show_image(solid("red"))
    red = count_colour(tile.video.grab().toImage(), QColor("red"))
    tile.set_camera_off(True)
    image = tile.video.grab().toImage()
    assert count_colour(image, QColor("red")) < red // 10
    assert count_colour(image, QColor("#111111")) > 0  # background around the circle
    assert video_centre(tile) != QColor("#111111")  # the coloured circle sits in the middle
    tile.set_camera_off(False)
    assert video_centre(tile) == QColor("red")


def test_camera_off_shows_the_avatar_pixmap(qtbot):
    avatar = QPixmap(64, 64)
    avatar.fill(QColor("magenta"))
    tile = make_tile(qtbot, avatar)
    tile.set_camera_off(True)
    assert video_centre(tile) == QColor("magenta")


def test_stale_video_falls_back_to_avatar(qtbot):
    tile = make_tile(qtbot)
    tile.video._stale.setInterval(50)
    tile.show_image(solid("red"))
    assert tile.video.showing_video
    qtbot.waitUntil(lambda: not tile.video.showing_video, timeout=2000)
    assert video_centre(tile) != QColor("red")


def test_speaking_turns_the_border_green(qtbot):
    tile = make_tile(qtbot)
    assert tile.grab().toImage().pixelColor(1, 1) != QColor("#43a047")
    tile.set_speaking(True)
    assert tile.grab().toImage().pixelColor(1, 1) == QColor("#43a047")
    tile.set_speaking(False)
    assert tile.grab().toImage().pixelColor(1, 1) != QColor("#43a047")


def test_click_emits_clicked(qtbot):
    tile = make_tile(qtbot)
    with qtbot.waitSignal(tile.clicked, timeout=1000):
        qtbot.mouseClick(tile.video, Qt.LeftButton, pos=QPoint(20, 20))
    with qtbot.waitSignal(tile.clicked, timeout=1000):
        qtbot.mouseClick(tile, Qt.LeftButton, pos=QPoint(1, 1))


def test_level_meter_and_name(qtbot):
    tile = make_tile(qtbot)
    tile.set_level(-12.0)
    assert tile.meter.level == -12.0
    tile.set_name("Countess")
    assert tile.name_label.text() == "Countess" and tile.name == "Countess"



def test_double_click_is_one_click_and_one_double_click(qtbot):
    tile = make_tile(qtbot)
    clicks, doubles = [], []
    tile.clicked.connect(lambda: clicks.append(1))
    tile.double_clicked.connect(lambda: doubles.append(1))
    double_click(qtbot, tile.video)
    assert (len(clicks), len(doubles)) == (1, 1)


def test_mic_muted_icon_shows_only_while_muted(qtbot):
    tile = make_tile(qtbot)
    icon = tile.mic_muted_icon
    assert not icon.isVisible()
    tile.set_microphone_muted(True)
    assert icon.isVisible() and tile.microphone_muted
    assert tile.rect().contains(icon.geometry()) and icon.width() >= 12
    red = count_colour(icon.grab().toImage(), QColor("#e53935"))
    assert red > 10
    tile.set_microphone_muted(False)
    assert not icon.isVisible() and not tile.microphone_muted


def test_avatar_bytes_show_while_camera_is_off(qtbot):
    image = QImage(64, 64, QImage.Format_RGB32)
    image.fill(QColor("cyan"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    tile = make_tile(qtbot)
    tile.show_image(solid("red"))
    tile.set_avatar(bytes(data))
    assert video_centre(tile) == QColor("red")  # the camera is on: the video, not the avatar
    tile.set_camera_off(True)
    assert video_centre(tile) == QColor("cyan")
    tile.set_avatar(b"not an image")
    assert video_centre(tile) not in (QColor("cyan"), QColor("#111111"))  # initials on their colour


def test_presenting_badge(qtbot):
    tile = make_tile(qtbot)
    badge = tile.presenting_label
    assert not badge.isVisible()
    tile.set_presenting(True)
    assert badge.isVisible() and badge.text() == "Presenting"
    tile.set_presenting(False)
    assert not badge.isVisible()


def badge_colour(label) -> QColor:
    image = label.grab().toImage()
    return image.pixelColor(2, image.height() // 2)


def test_quality_shows_fps_coloured_by_drops_and_never_on_own_tile(qtbot):
    tile = make_tile(qtbot)
    label = tile.quality_label
    assert not label.isVisible()  # nothing measured yet
    tile.set_quality(15.2, 0)
    assert label.isVisible() and label.text() == "15 fps"
    assert badge_colour(label) == QColor("#43a047")
    tile.set_quality(14.0, 1)
    assert badge_colour(label) == QColor("#ffb300")
    tile.set_quality(8.0, 4)
    assert badge_colour(label) == QColor("#e53935")
    tile.set_camera_off(True)
    assert not label.isVisible()  # no video, no video quality
    tile.set_camera_off(False)
    assert label.isVisible()
    tile.set_local(True)
    tile.set_quality(30.0, 0)
    assert not label.isVisible()


def test_name_is_plain_text(qtbot):
    tile = make_tile(qtbot)
    tile.set_name("<b>eve</b>")
    assert tile.name_label.textFormat() == Qt.PlainText and tile.name_label.text() == "<b>eve</b>"


def test_displayed_size_is_the_drawn_picture(qtbot):
    tile = make_tile(qtbot)
    area = tile.video.size()
    assert tile.displayed_size() == area  # before any frame: the whole area
    tile.show_image(solid("red", 640, 480))
    size = tile.displayed_size()
    assert size.height() == area.height() or size.width() == area.width()
    assert abs(size.width() / size.height() - 4 / 3) < 0.05
    image = tile.video.grab().toImage()
    middle = image.height() // 2
    red_columns = [x for x in range(image.width()) if image.pixelColor(x, middle) == QColor("red")]
    assert abs(len(red_columns) - size.width()) <= 1
    tile.resize(640, 520)
    qtbot.waitUntil(lambda: tile.displayed_size().width() > size.width() * 1.5, timeout=2000)
