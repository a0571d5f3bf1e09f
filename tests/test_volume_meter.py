"""VolumeMeter: the bar grows with the level and empties on silence."""

from __future__ import annotations

import math
import os

from PyQt5.QtGui import QImage

from qt_client.ui.volume_meter import VolumeMeter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def lit_columns(meter: VolumeMeter) -> int:
    image: QImage = meter.grab().toImage()
    y = image.height() // 2
    background = image.pixelColor(image.width() - 1, y) if meter.level < 0 else None
    return sum(1 for x in range(image.width()) if image.pixelColor(x, y) != background)


def make_meter(qtbot) -> VolumeMeter:
    meter = VolumeMeter()
    qtbot.addWidget(meter)
    meter.resize(200, 8)
    meter.show()
    qtbot.waitExposed(meter)
    return meter


def test_louder_is_a_longer_bar(qtbot):
    meter = make_meter(qtbot)
    meter.set_level(-45.0)
    quiet = lit_columns(meter)
    meter.set_level(-10.0)
    loud = lit_columns(meter)
    assert 0 < quiet < loud
    assert abs(loud / meter.width() - 50 / 60) < 0.1


def test_silence_and_out_of_range_are_clamped(qtbot):
    meter = make_meter(qtbot)
    meter.set_level(-math.inf)
    assert meter.level == -60.0 and lit_columns(meter) == 0
    meter.set_level(float("nan"))
    assert meter.level == -60.0
    meter.set_level(+6.0)
    assert meter.level == 0.0


def test_loud_is_red(qtbot):
    meter = make_meter(qtbot)
    meter.set_level(-1.0)
    colour = meter.grab().toImage().pixelColor(5, 4)
    assert colour.red() > 200 and colour.green() < 100
