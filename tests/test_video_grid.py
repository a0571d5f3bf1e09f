"""VideoGrid: a paged near-square grid, a speaker view with a strip, pinning, and presentations."""

from __future__ import annotations

import os

import pytest
from PyQt5.QtCore import QBuffer, QByteArray, QIODevice, QPoint, Qt
from PyQt5.QtGui import QColor, QImage

from qt_client.ui.video_grid import VideoGrid, grid_shape
from tests.desktop_support import double_click

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def make_grid(qtbot, count: int, width: int = 900, height: int = 600) -> VideoGrid:
    grid = VideoGrid()
    qtbot.addWidget(grid)
    grid.resize(width, height)
    grid.show()
    qtbot.waitExposed(grid)
    for user_id in range(1, count + 1):
        grid.add_tile(user_id, f"user{user_id}")
    return grid


def member(user_id: int, name: str, **state) -> dict:
    return {"user_id": user_id, "username": name.lower(), "display_name": name, "microphone": True,
            "camera": True, "screen": False, "avatar": "", **state}


def shown(grid: VideoGrid) -> list[int]:
    return [uid for uid in grid.user_ids if grid.tile(uid).isVisible()]


def assert_shape(qtbot, grid: VideoGrid, shape: tuple[int, int]) -> None:
    """(columns, rows) as a user sees them once the layout settles: distinct tile positions on screen."""
    def current() -> tuple[int, int] | None:
        tiles = [grid.tile(uid) for uid in shown(grid)]
        if len({(t.x(), t.y()) for t in tiles}) != len(tiles):
            return None
        return len({t.x() for t in tiles}), len({t.y() for t in tiles})
    qtbot.waitUntil(lambda: current() == shape, timeout=2000)


def area(widget) -> int:
    return widget.width() * widget.height()


def wait_big(qtbot, grid: VideoGrid, big, others) -> None:
    """big's tile is on screen and much larger than the others, which are shown in a strip below it."""
    def settled() -> bool:
        large = grid.tile(big)
        return large.isVisible() and all(
            tile.isVisible() and area(large) > 4 * area(tile) and grid.rect().contains(tile.geometry())
            and tile.y() > large.geometry().bottom()
            for tile in (grid.tile(other) for other in others))
    qtbot.waitUntil(settled, timeout=2000)



@pytest.mark.parametrize(("count", "shape"),
                         [(1, (1, 1)), (2, (2, 1)), (4, (2, 2)), (5, (3, 2)), (9, (3, 3))])
def test_tiles_flow_into_near_square_grid(qtbot, count, shape):
    grid = make_grid(qtbot, count)
    assert_shape(qtbot, grid, shape)
    assert grid_shape(count) == shape
    assert not grid.grid_pager.isVisible()


def test_grid_reflows_as_people_leave(qtbot):
    grid = make_grid(qtbot, 5)
    first_width = grid.tile(1).width()
    grid.remove_tile(5)
    qtbot.waitUntil(lambda: grid.tile(1).width() > first_width * 1.3, timeout=2000)  # 3 columns -> 2
    assert_shape(qtbot, grid, (2, 2))
    assert grid.tile(5) is None


def test_more_than_nine_are_paged(qtbot):
    grid = make_grid(qtbot, 12)
    assert shown(grid) == list(range(1, 10))
    assert_shape(qtbot, grid, (3, 3))
    pager = grid.grid_pager
    assert pager.isVisible() and pager.label.text() == "page 1/2"
    assert not pager.prev_button.isEnabled()
    with qtbot.waitSignal(grid.visible_users_changed, timeout=1000) as blocker:
        qtbot.mouseClick(pager.next_button, Qt.LeftButton)
    assert blocker.args == [frozenset({10, 11, 12})]
    assert shown(grid) == [10, 11, 12] and grid.visible_user_ids() == {10, 11, 12}
    assert pager.label.text() == "page 2/2" and not pager.next_button.isEnabled()
    for uid in (10, 11):
        grid.remove_tile(uid)  # the last page empties: back to the first, and no pager
    grid.remove_tile(12)
    assert shown(grid) == list(range(1, 10)) and not pager.isVisible()


def test_set_members_keeps_tiles_and_shows_their_state(qtbot):
    grid = make_grid(qtbot, 0)
    grid.set_members([member(1, "Ada"), {"user_id": 2, "username": "bob", "display_name": ""}])
    assert grid.user_ids == [1, 2]
    assert grid.tile(2).name == "bob"  # no display name: the user name
    ada = grid.tile(1)
    assert not ada.microphone_muted and not ada.camera_off
    with qtbot.assertNotEmitted(grid.visible_users_changed):
        grid.set_members([member(1, "Ada L.", microphone=False, camera=False), member(2, "Bob")])
    assert grid.tile(1) is ada and ada.name == "Ada L."  # kept, so its video does not blink
    assert ada.mic_muted_icon.isVisible() and ada.camera_off
    grid.set_members([member(1, "Ada L."), member(3, "Cy")])
    assert grid.user_ids == [1, 3] and grid.tile(1) is ada
    assert not ada.mic_muted_icon.isVisible() and not ada.camera_off


def test_avatar_hash_asks_for_the_picture_once(qtbot):
    grid = make_grid(qtbot, 0)
    with qtbot.waitSignal(grid.avatar_needed, timeout=1000) as blocker:
        grid.set_members([member(1, "Ada", avatar="abc123")])
    assert blocker.args == [1, "abc123"]
    with qtbot.assertNotEmitted(grid.avatar_needed):
        grid.set_members([member(1, "Ada", avatar="abc123", microphone=False)])
    image = QImage(32, 32, QImage.Format_RGB32)
    image.fill(QColor("cyan"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    image.save(buffer, "PNG")
    grid.set_members([member(1, "Ada", avatar="abc123", camera=False)])
    grid.set_avatar(1, bytes(data))
    picture = grid.tile(1).video.grab().toImage()
    assert picture.pixelColor(picture.width() // 2, picture.height() // 2) == QColor("cyan")


def test_click_pins_a_tile_large_with_the_others_in_a_strip(qtbot):
    grid = make_grid(qtbot, 4)
    with qtbot.waitSignal(grid.big_view_changed, timeout=1000) as blocker:
        qtbot.mouseClick(grid.tile(3).video, Qt.LeftButton, pos=QPoint(10, 10))
    assert blocker.args == [3]
    assert grid.big_view_user == 3 and grid.big_key() == 3
    wait_big(qtbot, grid, 3, [1, 2, 4])
    assert len({grid.tile(uid).y() for uid in (1, 2, 4)}) == 1  # one row

    with qtbot.waitSignal(grid.big_view_changed, timeout=1000) as blocker:
        qtbot.mouseClick(grid.tile(3).video, Qt.LeftButton, pos=QPoint(10, 10))
    assert blocker.args == [None]
    assert grid.big_view_user is None
    assert_shape(qtbot, grid, (2, 2))


def test_double_click_pins_and_double_click_again_unpins(qtbot):
    grid = make_grid(qtbot, 3)
    double_click(qtbot, grid.tile(2).video)
    assert grid.pinned == 2
    wait_big(qtbot, grid, 2, [1, 3])
    double_click(qtbot, grid.tile(2).video)
    assert grid.pinned is None
    assert_shape(qtbot, grid, (2, 2))


def test_pinned_person_leaving_returns_to_grid(qtbot):
    grid = make_grid(qtbot, 3)
    qtbot.mouseClick(grid.tile(2).video, Qt.LeftButton, pos=QPoint(10, 10))
    with qtbot.waitSignal(grid.big_view_changed, timeout=1000) as blocker:
        grid.remove_tile(2)
    assert blocker.args == [None]
    assert shown(grid) == [1, 3]


def test_speaker_view_follows_the_active_speaker_but_not_oneself(qtbot):
    grid = make_grid(qtbot, 4)
    grid.set_local_user(1)
    with qtbot.waitSignal(grid.view_mode_changed, timeout=1000):
        grid.set_view_mode("speaker")
    assert grid.big_key() == 2  # nobody has spoken yet: the first person who is not me
    wait_big(qtbot, grid, 2, [1, 3, 4])
    grid.set_active_speaker(4)
    wait_big(qtbot, grid, 4, [1, 2, 3])
    grid.set_active_speaker(1)  # my own voice never puts me large in my own view
    assert grid.big_key() == 4
    qtbot.mouseClick(grid.tile(3).video, Qt.LeftButton, pos=QPoint(10, 10))
    grid.set_active_speaker(2)  # a pin beats the speaker
    wait_big(qtbot, grid, 3, [1, 2, 4])
    grid.set_view_mode("grid")
    grid.pin(None)
    assert_shape(qtbot, grid, (2, 2))
    with pytest.raises(ValueError):
        grid.set_view_mode("gallery")


def test_the_strip_pages_when_it_is_full(qtbot):
    grid = make_grid(qtbot, 10, width=1100, height=700)
    grid.set_view_mode("speaker")
    grid.set_active_speaker(1)
    strip = [uid for uid in shown(grid) if uid != 1]
    assert 2 <= len(strip) <= 6 and strip == list(range(2, 2 + len(strip)))
    pager = grid.strip_pager
    assert pager.isVisible() and pager.label.text().startswith("page 1/")
    assert grid.visible_user_ids() == {1, *strip}
    qtbot.mouseClick(pager.next_button, Qt.LeftButton)
    second = [uid for uid in shown(grid) if uid != 1]
    assert second and second[0] == strip[-1] + 1
    assert grid.visible_user_ids() == {1, *second}
    for uid in second:
        tile = grid.tile(uid)
        qtbot.waitUntil(lambda tile=tile: grid.rect().contains(tile.geometry()), timeout=2000)


def test_a_presentation_takes_the_big_area_in_both_modes(qtbot):
    grid = make_grid(qtbot, 0)
    grid.set_local_user(1)
    grid.set_members([member(1, "Me"), member(2, "Ada"), member(3, "Bob")])
    assert grid.presentation_tile() is None
    grid.set_members([member(1, "Me"), member(2, "Ada", screen=True), member(3, "Bob")])
    screen = grid.presentation_tile()
    assert screen is not None and grid.tile(("screen", 2)) is screen and grid.presenter == 2
    assert grid.big_key() == ("screen", 2)
    assert grid.tile(2).presenting and not grid.tile(3).presenting
    wait_big(qtbot, grid, ("screen", 2), [1, 2, 3])
    assert grid.visible_user_ids() == {1, 2, 3}
    image = QImage(160, 90, QImage.Format_RGB32)
    image.fill(QColor("yellow"))
    screen.show_image(image)
    picture = screen.video.grab().toImage()
    assert picture.pixelColor(picture.width() // 2, picture.height() // 2) == QColor("yellow")

    grid.set_view_mode("speaker")
    grid.set_active_speaker(3)
    wait_big(qtbot, grid, ("screen", 2), [1, 2, 3])

    grid.set_members([member(1, "Me"), member(2, "Ada"), member(3, "Bob")])  # she stops sharing
    assert grid.presentation_tile() is None and not grid.tile(2).presenting
    wait_big(qtbot, grid, 3, [1, 2])


def test_pinning_a_person_beats_the_presentation_and_it_waits_in_the_strip(qtbot):
    grid = make_grid(qtbot, 3)
    screen = grid.show_presentation(2, "Ada")
    assert screen.name == "Ada's screen" and not screen.meter.isVisible()
    qtbot.mouseClick(grid.tile(3).video, Qt.LeftButton, pos=QPoint(10, 10))
    wait_big(qtbot, grid, 3, [("screen", 2), 1, 2])
    qtbot.mouseClick(grid.tile(3).video, Qt.LeftButton, pos=QPoint(10, 10))
    wait_big(qtbot, grid, ("screen", 2), [1, 2, 3])
    grid.clear_presentation()
    assert grid.presentation_tile() is None
    assert_shape(qtbot, grid, (2, 2))


def test_presenter_leaving_ends_the_presentation_and_own_share_is_not_shown_back(qtbot):
    grid = make_grid(qtbot, 0)
    grid.set_members([member(1, "Me"), member(2, "Ada", screen=True)])
    qtbot.mouseClick(grid.presentation_tile().video, Qt.LeftButton, pos=QPoint(10, 10))
    assert grid.pinned == ("screen", 2)
    with qtbot.waitSignal(grid.big_view_changed, timeout=1000) as blocker:
        grid.set_members([member(1, "Me")])
    assert blocker.args == [None] and grid.presentation_tile() is None
    grid.set_local_user(1)
    grid.set_members([member(1, "Me", screen=True)])
    assert grid.presentation_tile() is None and grid.tile(1).presenting
