"""A thin level bar so people can see who is talking and that their own microphone works."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PyQt5.QtWidgets import QSizePolicy, QWidget

FLOOR_DB = -60.0
STEP_DB = 1.5  # finer than the eye can tell on a thin bar; decoded audio jitters by hundredths of a dB
GREEN, YELLOW, RED = "#43a047", "#fdd835", "#e53935"


class VolumeMeter(pg.PlotWidget):
    """A horizontal bar from -60 to 0 dBFS; one bar item updated in place, so 50 updates a second is cheap."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="#202020")
        plot = self.getPlotItem()
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.setMouseEnabled(x=False, y=False)
        plot.layout.setContentsMargins(0, 0, 0, 0)
        plot.setXRange(FLOOR_DB, 0.0, padding=0)
        plot.setYRange(0.0, 1.0, padding=0)
        self.setContentsMargins(0, 0, 0, 0)
        self.setFixedHeight(8)
        self.setMinimumWidth(40)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self._level = FLOOR_DB
        self._bar = pg.BarGraphItem(x0=[FLOOR_DB], y0=[0.0], width=[0.0], height=[1.0], pen=None, brush=GREEN)
        plot.addItem(self._bar)

    @property
    def level(self) -> float:
        return self._level

    def set_level(self, db: float) -> None:
        """Shows db clamped to the meter's range; silence (-inf) or NaN shows as an empty bar."""
        level = FLOOR_DB if math.isnan(db) else min(0.0, max(FLOOR_DB, db))
        level = round(level / STEP_DB) * STEP_DB
        if level == self._level:
            return  # a steady voice or silence changes nothing: no repaint (each costs ~0.4 ms)
        self._level = level
        colour = GREEN if level < -20.0 else YELLOW if level < -6.0 else RED
        self._bar.setOpts(width=[level - FLOOR_DB], brush=colour)
