"""The room's people as a near-square grid of tiles, or one of them large when clicked."""

from __future__ import annotations

import math
from typing import Any

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtGui import QColor, QPalette, QPixmap
from PyQt5.QtWidgets import QGridLayout, QWidget

from qt_client.ui.video_tile import VideoTile


def grid_shape(count: int) -> tuple[int, int]:
    """(columns, rows) for count tiles: columns = ceil(sqrt(n)) keeps tiles close to the window's shape."""
    if count <= 0:
        return 0, 0
    columns = math.ceil(math.sqrt(count))
    return columns, math.ceil(count / columns)


class VideoGrid(QWidget):
    """Tiles keyed by user id, re-flowed whenever someone comes, goes or is clicked."""

    big_view_changed = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tiles: dict[int, VideoTile] = {}
        self._big_view_user: int | None = None
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setSpacing(4)
        # A palette, not a style sheet: style sheets cascade into every tile and slow their painting.
        palette = self.palette()
        palette.setColor(QPalette.Window, QColor("#1a1a1a"))
        self.setPalette(palette)
        self.setAutoFillBackground(True)

    @property
    def big_view_user(self) -> int | None:
        return self._big_view_user

    @property
    def user_ids(self) -> list[int]:
        return list(self._tiles)

    def tile(self, user_id: int) -> VideoTile | None:
        return self._tiles.get(user_id)

    def add_tile(self, user_id: int, name: str, avatar: QPixmap | None = None) -> VideoTile:
        """Adds a tile (or renames the existing one: a member list can repeat someone)."""
        existing = self._tiles.get(user_id)
        if existing is not None:
            existing.set_name(name)
            return existing
        tile = VideoTile(name, avatar, self)
        tile.clicked.connect(lambda: self._toggle_big_view(user_id))
        self._tiles[user_id] = tile
        self._reflow()
        return tile

    def remove_tile(self, user_id: int) -> None:
        tile = self._tiles.pop(user_id, None)
        if tile is None:
            return
        self._layout.removeWidget(tile)
        tile.deleteLater()
        if self._big_view_user == user_id:
            self._set_big_view(None)  # the person we were watching left: back to everyone
        else:
            self._reflow()

    def set_members(self, members: list[dict[str, Any]]) -> None:
        """Matches the tiles to a `members` push: adds newcomers, removes leavers, keeps the rest."""
        wanted = {int(m["user_id"]): m.get("display_name") or m.get("username") or "?" for m in members}
        for user_id in [uid for uid in self._tiles if uid not in wanted]:
            self.remove_tile(user_id)
        for user_id, name in wanted.items():
            self.add_tile(user_id, name)

    def _toggle_big_view(self, user_id: int) -> None:
        self._set_big_view(None if self._big_view_user == user_id else user_id)

    def _set_big_view(self, user_id: int | None) -> None:
        self._big_view_user = user_id
        self._reflow()
        self.big_view_changed.emit(user_id)

    def _reflow(self) -> None:
        for tile in self._tiles.values():
            self._layout.removeWidget(tile)
        if self._big_view_user is not None:
            shown = [self._tiles[self._big_view_user]]
        else:
            shown = list(self._tiles.values())
        columns, rows = grid_shape(len(shown))
        for index, tile in enumerate(shown):
            self._layout.addWidget(tile, index // columns, index % columns)
        # Rows and columns used before keep existing in QGridLayout; zero stretch lets them collapse.
        for row in range(self._layout.rowCount()):
            self._layout.setRowStretch(row, 1 if row < rows else 0)
        for column in range(self._layout.columnCount()):
            self._layout.setColumnStretch(column, 1 if column < columns else 0)
        for tile in self._tiles.values():
            tile.setVisible(tile in shown)
