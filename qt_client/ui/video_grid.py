"""The room's people as a paged grid of tiles, or one of them large above a strip of the others.

Public API (VideoGrid):
    signals   big_view_changed(key | None)      the pinned tile changed (by click, or its owner left)
              visible_users_changed(frozenset)  user ids whose camera tile is on screen: decode only those
              view_mode_changed(str)            "grid" or "speaker"
              avatar_needed(user_id, hash)      a member's avatar hash is new: fetch it, then set_avatar
    members   set_members(list[dict]), add_tile(uid, name), remove_tile(uid), set_local_user(uid),
              set_avatar(uid, bytes), tile(uid | ("screen", uid)), user_ids
    layout    set_view_mode("grid" | "speaker"), view_mode, set_active_speaker(uid | None),
              pin(key | None), pinned (= big_view_user), big_key(), visible_user_ids()
    sharing   show_presentation(uid, name), clear_presentation(), presentation_tile(), presenter

What is large: the pinned tile; else someone's presentation (in both modes); else, in speaker
view, the active speaker (never oneself while others are here). Nothing large: the grid, 9 a page.
A click on a tile pins it, a click on the pinned tile unpins it. A double click's second click is
swallowed by the tile, so a double click pins and another double click unpins, and one click still
toggles the big view as it always did.
"""

from __future__ import annotations

import math
from typing import Any

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtGui import QColor, QPalette, QPixmap, QResizeEvent
from PyQt5.QtWidgets import QGridLayout, QHBoxLayout, QVBoxLayout, QWidget

from qt_client.ui.pager import Pager
from qt_client.ui.video_tile import VideoTile

Key = int | tuple[str, int]  # a camera tile is its user id; a presentation is ("screen", user id)
VIEW_MODES = ("grid", "speaker")
GRID_PAGE_SIZE = 9
STRIP_PAGE_MAX = 6
STRIP_MIN_HEIGHT, STRIP_MAX_HEIGHT = 90, 150
STRIP_ASPECT = 16 / 9
SPACING = 4
QWIDGETSIZE_MAX = 16777215


def grid_shape(count: int) -> tuple[int, int]:
    """(columns, rows) for count tiles: columns = ceil(sqrt(n)) keeps tiles close to the window's shape."""
    if count <= 0:
        return 0, 0
    columns = math.ceil(math.sqrt(count))
    return columns, math.ceil(count / columns)


def member_name(member: dict[str, Any]) -> str:
    return member.get("display_name") or member.get("username") or "?"


class VideoGrid(QWidget):
    """Tiles keyed by user id, kept across member pushes and re-flowed only when the arrangement changes."""

    big_view_changed = pyqtSignal(object)
    visible_users_changed = pyqtSignal(object)
    view_mode_changed = pyqtSignal(str)
    avatar_needed = pyqtSignal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tiles: dict[int, VideoTile] = {}
        self._presenter: int | None = None
        self._presentation: VideoTile | None = None
        self._pinned: Key | None = None
        self._speaker: int | None = None
        self._local_user: int | None = None
        self._mode = "grid"
        self._grid_page = 0
        self._strip_page = 0
        self._avatar_hashes: dict[int, str] = {}
        self._visible: frozenset[int] = frozenset()
        self._arrangement: tuple[Any, ...] | None = None
        self.grid_pager = Pager()
        self.grid_pager.setObjectName("grid_pager")
        self.grid_pager.page_changed.connect(self._on_grid_page)
        self.strip_pager = Pager()
        self.strip_pager.setObjectName("strip_pager")
        self.strip_pager.page_changed.connect(self._on_strip_page)
        self._stage = QGridLayout()
        self._stage.setSpacing(SPACING)
        self._strip = QHBoxLayout()
        self._strip.setSpacing(SPACING)
        self._strip.addStretch(1)  # tiles go between the two stretches: the strip is centred
        self._strip.addStretch(1)
        self._strip.addWidget(self.strip_pager)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(SPACING, SPACING, SPACING, SPACING)
        layout.setSpacing(SPACING)
        layout.addLayout(self._stage, 1)
        layout.addLayout(self._strip)
        layout.addWidget(self.grid_pager, 0, Qt.AlignHCenter)
        # A palette, not a style sheet: style sheets cascade into every tile and slow their painting.
        palette = self.palette()
        palette.setColor(QPalette.Window, QColor("#1a1a1a"))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        self._reflow()

    # -- what is shown --------------------------------------------------------

    @property
    def user_ids(self) -> list[int]:
        """Everyone with a camera tile, in member order (presentations are not people)."""
        return list(self._tiles)

    @property
    def view_mode(self) -> str:
        return self._mode

    @property
    def pinned(self) -> Key | None:
        return self._pinned

    @property
    def big_view_user(self) -> Key | None:
        """The pinned tile's key: the name the controller has always used."""
        return self._pinned

    @property
    def presenter(self) -> int | None:
        return self._presenter

    def tile(self, key: Key) -> VideoTile | None:
        """A person's camera tile by user id, or the presentation tile by ("screen", user id)."""
        if isinstance(key, tuple):
            return self._presentation if key == self._presentation_key() else None
        return self._tiles.get(key)

    def presentation_tile(self) -> VideoTile | None:
        """The shared screen's tile (give it frames with show_image), None when nobody presents."""
        return self._presentation

    def big_key(self) -> Key | None:
        """The tile drawn large now, None in the plain grid."""
        if self._pinned is not None:
            return self._pinned
        if self._presentation is not None:
            return self._presentation_key()
        if self._mode == "speaker" and self._tiles:
            return self._stage_speaker()
        return None

    def visible_user_ids(self) -> frozenset[int]:
        """User ids whose camera tile is on the current page, in the strip or large."""
        return self._visible

    # -- members --------------------------------------------------------------

    def set_members(self, members: list[dict[str, Any]]) -> None:
        """Matches the tiles to a `members` push: names, mute, camera, presenting; tiles of stayers are kept.

        A member whose "screen" is on gets the presentation tile (unless it is oneself: one's own
        screen is not shown back); it goes when they stop or leave.
        """
        wanted = {int(m["user_id"]): m for m in members}
        for user_id in [uid for uid in self._tiles if uid not in wanted]:
            self._forget(user_id)
        for user_id, member in wanted.items():
            tile = self._tiles.get(user_id) or self._create_tile(user_id, member_name(member))
            if tile.name != member_name(member):
                tile.set_name(member_name(member))
            tile.set_microphone_muted(not member.get("microphone", True))
            tile.set_camera_off(not member.get("camera", True))
            tile.set_presenting(bool(member.get("screen", False)))
            self._check_avatar(user_id, str(member.get("avatar") or ""))
        self._follow_presenters(wanted)
        self._settle()

    def add_tile(self, user_id: int, name: str, avatar: QPixmap | None = None) -> VideoTile:
        """Adds a tile (or renames the existing one: a member list can repeat someone)."""
        existing = self._tiles.get(user_id)
        if existing is not None:
            existing.set_name(name)
            return existing
        tile = self._create_tile(user_id, name)
        if avatar is not None:
            tile.set_avatar(avatar)
        self._reflow()
        return tile

    def remove_tile(self, user_id: int) -> None:
        if user_id in self._tiles:
            self._forget(user_id)
            self._settle()

    def set_local_user(self, user_id: int | None) -> None:
        """One's own tile: no quality badge, never the active speaker, own screen never shown back."""
        self._local_user = user_id
        for uid, tile in self._tiles.items():
            tile.set_local(uid == user_id)
        if user_id is not None and self._presenter == user_id:
            self.clear_presentation()
        self._reflow()

    def set_avatar(self, user_id: int, image_bytes: bytes | None) -> None:
        """The picture shown while their camera is off (PNG or JPEG bytes; None or b"" for initials)."""
        tile = self._tiles.get(user_id)
        if tile is not None:
            tile.set_avatar(image_bytes or None)

    # -- layout ---------------------------------------------------------------

    def set_view_mode(self, mode: str) -> None:
        if mode not in VIEW_MODES:
            raise ValueError(f"view mode must be one of {VIEW_MODES}, not {mode!r}")
        if mode != self._mode:
            self._mode = mode
            self._reflow()
            self.view_mode_changed.emit(mode)

    def set_active_speaker(self, user_id: int | None) -> None:
        """Who the speaker view shows large when nothing is pinned; oneself is ignored."""
        if user_id is not None and (user_id == self._local_user or user_id not in self._tiles):
            return
        if user_id != self._speaker:
            self._speaker = user_id
            self._reflow()

    def pin(self, key: Key | None) -> None:
        """Keeps key large whatever the mode, the speaker or a presentation; None unpins."""
        if key is not None and self.tile(key) is None:
            return
        if key != self._pinned:
            self._pinned = key
            self._reflow()
            self.big_view_changed.emit(key)

    def show_presentation(self, user_id: int, name: str) -> VideoTile:
        """A tile for user_id's shared screen, large in both modes until clear_presentation()."""
        if self._presentation is not None and self._presenter != user_id:
            self.clear_presentation()
        title = f"{name}'s screen"
        if self._presentation is None:
            self._presenter = user_id
            self._presentation = self._new_tile(("screen", user_id), title, show_meter=False)
        elif self._presentation.name != title:
            self._presentation.set_name(title)
        camera = self._tiles.get(user_id)
        if camera is not None:
            camera.set_presenting(True)
        self._reflow()
        return self._presentation

    def clear_presentation(self) -> None:
        tile, key = self._presentation, self._presentation_key()
        if tile is None:
            return
        camera = self._tiles.get(self._presenter)
        if camera is not None:
            camera.set_presenting(False)
        self._presentation = self._presenter = None
        self._discard(tile)
        if self._pinned == key:
            self.pin(None)
        else:
            self._reflow()

    # -- internals ------------------------------------------------------------

    def _presentation_key(self) -> tuple[str, int] | None:
        return None if self._presenter is None else ("screen", self._presenter)

    def _stage_speaker(self) -> int:
        if self._speaker in self._tiles:
            return self._speaker
        others = [uid for uid in self._tiles if uid != self._local_user]
        return others[0] if others else next(iter(self._tiles))

    def _create_tile(self, user_id: int, name: str) -> VideoTile:
        tile = self._new_tile(user_id, name)
        tile.set_local(user_id == self._local_user)
        self._tiles[user_id] = tile
        return tile

    def _new_tile(self, key: Key, name: str, show_meter: bool = True) -> VideoTile:
        tile = VideoTile(name, None, self, show_meter=show_meter)
        tile.hide()  # shown by _place when it has a place
        tile.clicked.connect(lambda: self.pin(None if self._pinned == key else key))
        return tile

    def _forget(self, user_id: int) -> None:
        """Drops a leaver's tile without re-flowing; _settle() does that once for a whole push."""
        self._discard(self._tiles.pop(user_id))
        self._avatar_hashes.pop(user_id, None)
        if self._speaker == user_id:
            self._speaker = None
        if self._presenter == user_id:
            self._discard(self._presentation)
            self._presentation = self._presenter = None

    def _discard(self, tile: VideoTile) -> None:
        self._stage.removeWidget(tile)
        self._strip.removeWidget(tile)
        tile.hide()
        tile.deleteLater()
        self._arrangement = None

    def _settle(self) -> None:
        """Unpins a tile that has gone, then re-flows."""
        if self._pinned is not None and self.tile(self._pinned) is None:
            self.pin(None)
        else:
            self._reflow()

    def _check_avatar(self, user_id: int, avatar_hash: str) -> None:
        if self._avatar_hashes.get(user_id, "") == avatar_hash:
            return
        self._avatar_hashes[user_id] = avatar_hash
        if avatar_hash:
            self.avatar_needed.emit(user_id, avatar_hash)
        else:
            self._tiles[user_id].set_avatar(None)

    def _follow_presenters(self, members: dict[int, dict[str, Any]]) -> None:
        presenting = [uid for uid, m in members.items() if m.get("screen") and uid != self._local_user]
        if self._presenter is not None and self._presenter not in presenting:
            self.clear_presentation()
        if self._presenter is None and presenting:
            self.show_presentation(presenting[0], member_name(members[presenting[0]]))

    def _on_grid_page(self, page: int) -> None:
        self._grid_page = page
        self._reflow()

    def _on_strip_page(self, page: int) -> None:
        self._strip_page = page
        self._reflow()

    def _strip_tile_size(self) -> tuple[int, int]:
        height = min(STRIP_MAX_HEIGHT, max(STRIP_MIN_HEIGHT, self.height() // 5))
        return round(height * STRIP_ASPECT), height

    def _strip_capacity(self) -> int:
        width, _ = self._strip_tile_size()
        room = self.width() - 2 * SPACING - self.strip_pager.sizeHint().width() - SPACING
        return min(STRIP_PAGE_MAX, max(1, room // (width + SPACING)))

    def _reflow(self) -> None:
        big = self.big_key()
        strip_size = None
        if big is None:
            keys: list[Key] = list(self._tiles)
            pages = max(1, math.ceil(len(keys) / GRID_PAGE_SIZE))
            self._grid_page = min(self._grid_page, pages - 1)
            start = self._grid_page * GRID_PAGE_SIZE
            stage, strip = keys[start:start + GRID_PAGE_SIZE], []
            self.grid_pager.set_pages(self._grid_page, pages)
            self.strip_pager.set_pages(0, 1)
        else:
            others: list[Key] = [uid for uid in self._tiles if uid != big]
            if self._presentation is not None and big != self._presentation_key():
                others.insert(0, self._presentation_key())
            capacity = self._strip_capacity()
            pages = max(1, math.ceil(len(others) / capacity))
            self._strip_page = min(self._strip_page, pages - 1)
            start = self._strip_page * capacity
            stage, strip = [big], others[start:start + capacity]
            strip_size = self._strip_tile_size()
            self.grid_pager.set_pages(0, 1)
            self.strip_pager.set_pages(self._strip_page, pages)
        arrangement = (tuple(stage), tuple(strip), strip_size)
        if arrangement != self._arrangement:
            self._arrangement = arrangement
            self._place(stage, strip, strip_size)
        visible = frozenset(key for key in (*stage, *strip) if isinstance(key, int))
        if visible != self._visible:
            self._visible = visible
            self.visible_users_changed.emit(visible)

    def _place(self, stage: list[Key], strip: list[Key], strip_size: tuple[int, int] | None) -> None:
        tiles = list(self._tiles.values()) + ([self._presentation] if self._presentation else [])
        for tile in tiles:
            self._stage.removeWidget(tile)
            self._strip.removeWidget(tile)
        columns, rows = grid_shape(len(stage))
        shown = []
        for index, key in enumerate(stage):
            tile = self.tile(key)
            tile.setMinimumSize(0, 0)
            tile.setMaximumSize(QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)
            self._stage.addWidget(tile, index // columns, index % columns)
            shown.append(tile)
        # Rows and columns used before keep existing in QGridLayout; zero stretch lets them collapse.
        for row in range(self._stage.rowCount()):
            self._stage.setRowStretch(row, 1 if row < rows else 0)
        for column in range(self._stage.columnCount()):
            self._stage.setColumnStretch(column, 1 if column < columns else 0)
        for index, key in enumerate(strip):
            tile = self.tile(key)
            tile.setFixedSize(*strip_size)
            self._strip.insertWidget(1 + index, tile)  # after the leading stretch
            shown.append(tile)
        for tile in tiles:
            tile.setVisible(tile in shown)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.big_key() is not None:
            self._reflow()  # the strip's tile size and how many fit follow the window
