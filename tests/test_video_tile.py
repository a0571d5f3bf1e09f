"""VideoTile: what a participant's tile looks like as video arrives, stops, and they speak."""

from __future__ import annotations

import os

from PyQt5.QtCore import QPoint, Qt
from PyQt5.QtGui import QColor, QImage, QPixmap

from qt_client.ui.video_tile import VideoTile

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
