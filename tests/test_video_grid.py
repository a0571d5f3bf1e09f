"""VideoGrid: tiles re-flow into a near-square grid, and a click gives one person the whole area."""

from __future__ import annotations

import os

import pytest
from PyQt5.QtCore import QPoint, Qt

from qt_client.ui.video_grid import VideoGrid, grid_shape

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_grid(qtbot, count: int) -> VideoGrid:
    grid = VideoGrid()
    qtbot.addWidget(grid)
    grid.resize(900, 600)
    grid.show()
    qtbot.waitExposed(grid)
    for user_id in range(1, count + 1):
        grid.add_tile(user_id, f"user{user_id}")
    return grid


def layout_shape(qtbot, grid: VideoGrid) -> tuple[int, int]:
    """(columns, rows) as a user sees them: distinct tile positions on screen."""
    tiles = [grid.tile(uid) for uid in grid.user_ids if grid.tile(uid).isVisible()]
    qtbot.waitUntil(lambda: len({(t.x(), t.y()) for t in tiles}) == len(tiles), timeout=2000)
    return len({t.x() for t in tiles}), len({t.y() for t in tiles})


@pytest.mark.parametrize(("count", "shape"), [(1, (1, 1)), (2, (2, 1)), (4, (2, 2)), (5, (3, 2))])
def test_tiles_flow_into_near_square_grid(qtbot, count, shape):
    grid = make_grid(qtbot, count)
    assert layout_shape(qtbot, grid) == shape
    assert grid_shape(count) == shape


def test_grid_reflows_as_people_leave(qtbot):
    grid = make_grid(qtbot, 5)
    first_width = grid.tile(1).width()
    grid.remove_tile(5)
    qtbot.waitUntil(lambda: grid.tile(1).width() > first_width * 1.3, timeout=2000)  # 3 columns -> 2
    assert layout_shape(qtbot, grid) == (2, 2)
    assert grid.tile(5) is None


def test_set_members_adds_and_removes(qtbot):
    grid = make_grid(qtbot, 0)
    grid.set_members([{"user_id": 1, "username": "ada", "display_name": "Ada"},
                      {"user_id": 2, "username": "bob", "display_name": ""}])
    assert grid.user_ids == [1, 2]
    assert grid.tile(2).name == "bob"  # no display name: the user name
    ada = grid.tile(1)
    grid.set_members([{"user_id": 1, "username": "ada", "display_name": "Ada L."},
                      {"user_id": 3, "username": "cy", "display_name": "Cy"}])
    assert grid.user_ids == [1, 3]
    assert grid.tile(1) is ada and ada.name == "Ada L."  # kept, so its video does not blink


def test_click_shows_big_view_and_click_again_returns(qtbot):
    grid = make_grid(qtbot, 4)
    small = grid.tile(3).size()
    with qtbot.waitSignal(grid.big_view_changed, timeout=1000) as blocker:
        qtbot.mouseClick(grid.tile(3).video, Qt.LeftButton, pos=QPoint(10, 10))
    assert blocker.args == [3]
    assert grid.big_view_user == 3
    assert [uid for uid in grid.user_ids if grid.tile(uid).isVisible()] == [3]
    qtbot.waitUntil(lambda: grid.tile(3).width() > small.width() * 1.5, timeout=2000)

    with qtbot.waitSignal(grid.big_view_changed, timeout=1000) as blocker:
        qtbot.mouseClick(grid.tile(3).video, Qt.LeftButton, pos=QPoint(10, 10))
    assert blocker.args == [None]
    assert grid.big_view_user is None
    assert all(grid.tile(uid).isVisible() for uid in grid.user_ids)
    assert layout_shape(qtbot, grid) == (2, 2)


def test_big_view_person_leaving_returns_to_grid(qtbot):
    grid = make_grid(qtbot, 3)
    qtbot.mouseClick(grid.tile(2).video, Qt.LeftButton, pos=QPoint(10, 10))
    with qtbot.waitSignal(grid.big_view_changed, timeout=1000) as blocker:
        grid.remove_tile(2)
    assert blocker.args == [None]
    assert all(grid.tile(uid).isVisible() for uid in grid.user_ids)
