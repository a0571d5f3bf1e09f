"""A call in the desktop client as people notice it: switches seen by the others, notices, chat
that survives an outage, a leave that asks first. Real widgets (offscreen), a real server."""

from __future__ import annotations

import queue
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QImage
from PyQt5.QtTest import QTest

from protocol.media import Codec, MediaSource, StreamKind
from qt_client.app import MeetingApp
from qt_client.ui.client_settings import ClientSettings
from tests.conftest import free_base_port, running_meeting_server
from tests.desktop_support import answer_leave, create_room, drain_frames, guest, join_room, log_in
from tests.tls_support import cert_path


@pytest.fixture
def server(tmp_path: Any) -> Iterator[Any]:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", threads=1) as server:
        yield server


def make_settings(path: str) -> ClientSettings:
    settings = ClientSettings(path)
    settings.microphone = "tone"
    settings.codec = "jpeg"
    settings.size = "320x240"
    settings.ca_file = str(cert_path())  # the test server's certificate, as a private CA's
    return settings


@pytest.fixture
def app(qtbot: Any, tmp_path: Any) -> Iterator[MeetingApp]:
    meeting = MeetingApp(make_settings(str(tmp_path / "a.ini")))
    yield meeting
    meeting.close()


@pytest.fixture
def other_app(qtbot: Any, tmp_path: Any) -> Iterator[MeetingApp]:
    meeting = MeetingApp(make_settings(str(tmp_path / "b.ini")))
    yield meeting
    meeting.close()


def camera_frames_within(frames: queue.Queue, seconds: float) -> int:
    """Camera frames that arrive within `seconds` (after those already queued are dropped)."""
    count = 0
    for _ in range(round(seconds / 0.05)):
        QTest.qWait(50)
        count += sum(header.stream is StreamKind.VIDEO and header.source is MediaSource.CAMERA
                     for header, _ in drain_frames(frames))
    return count


def activate(qtbot: Any, window: Any) -> None:
    """Keyboard shortcuts go to the active window, as they do for a person."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)


def member_state(client: Any, user_id: int) -> dict[str, Any]:
    return next((m for m in client.members if m["user_id"] == user_id), {})


def test_camera_off_and_on_ten_times_comes_back_at_the_peer_each_time(
        qtbot: Any, app: Any, server: Any) -> None:
    log_in(qtbot, app, server, "host")
    room_id = create_room(qtbot, app)
    peer = guest(server, room_id)
    frames = peer.media_queue(2048)
    me = app.profile["user_id"]
    camera = app.room_window.action_camera
    try:
        assert camera_frames_within(frames, 1.5) > 5
        for _ in range(10):
            camera.trigger()  # off
            qtbot.waitUntil(lambda: member_state(peer, me).get("camera") is False, timeout=2000)
            QTest.qWait(150)
            drain_frames(frames)
            assert camera_frames_within(frames, 0.3) == 0
            camera.trigger()  # on again: pictures within a second
            qtbot.waitUntil(lambda: member_state(peer, me).get("camera") is True, timeout=2000)
            assert camera_frames_within(frames, 1.0) >= 3
    finally:
        peer.close()


def solid_png(path: str, colour: str) -> str:
    image = QImage(200, 200, QImage.Format_RGB32)
    image.fill(QColor(colour))
    assert image.save(path, "PNG")
    return path


def colour_share(image: QImage, colour: QColor) -> float:
    """The share of pixels within a small distance of `colour`."""
    image = image.convertToFormat(QImage.Format_RGB32)
    bits = image.constBits()
    bits.setsize(image.sizeInBytes())
    pixels = np.frombuffer(bits, np.uint8).reshape(image.height(), image.bytesPerLine())
    bgr = pixels[:, :4 * image.width()].reshape(image.height(), image.width(), 4)[:, :, :3].astype(int)
    target = np.array([colour.blue(), colour.green(), colour.red()])
    return float((np.abs(bgr - target).sum(axis=2) < 40).mean())


def test_the_other_side_sees_my_mute_icon_my_avatar_names_and_notices(
        qtbot: Any, app: Any, other_app: Any, server: Any, tmp_path: Any) -> None:
    log_in(qtbot, app, server, "ada")
    lobby = app.lobby
    lobby.display_name_edit.setText("Ada Lovelace")
    assert lobby.load_avatar(solid_png(str(tmp_path / "magenta.png"), "#ff00ff"))
    qtbot.mouseClick(lobby.save_profile_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lobby.message_label.text() == "Profile saved.", timeout=5000)
    room_id = create_room(qtbot, app)

    log_in(qtbot, other_app, server, "bob")
    join_room(qtbot, other_app, room_id)
    ada_id = app.profile["user_id"]
    seen = other_app.room_window.grid
    qtbot.waitUntil(lambda: seen.tile(ada_id) is not None and seen.tile(ada_id).frames_shown > 2,
                    timeout=10_000)
    tile = seen.tile(ada_id)
    assert tile.name == "Ada Lovelace"
    qtbot.waitUntil(lambda: "bob joined" in app.room_window.chat.messages.toPlainText(), timeout=5000)

    room = app.room_window
    activate(qtbot, room)
    QTest.keyClick(room, Qt.Key_D, Qt.ControlModifier)  # microphone off
    QTest.keyClick(room, Qt.Key_E, Qt.ControlModifier)  # camera off
    assert not room.action_mic.isChecked() and not room.action_camera.isChecked()
    qtbot.waitUntil(lambda: tile.microphone_muted and tile.camera_off, timeout=5000)
    qtbot.wait(200)
    # Camera off: the tile shows Ada's avatar, not her last picture.
    assert colour_share(tile.grab().toImage(), QColor("#ff00ff")) > 0.05

    other_app.room_window.chat.input.setText("hi Ada")
    qtbot.mouseClick(other_app.room_window.chat.send_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "hi Ada" in room.chat.messages.toPlainText(), timeout=5000)

    answer_leave(True)
    other_app.room_window.action_leave.trigger()
    qtbot.waitUntil(lambda: other_app.lobby.isVisible(), timeout=5000)
    qtbot.waitUntil(lambda: "bob left" in room.chat.messages.toPlainText(), timeout=5000)


def test_leaving_asks_first_and_cancel_stays(qtbot: Any, app: Any, server: Any) -> None:
    log_in(qtbot, app, server, "hesitant")
    create_room(qtbot, app)
    room = app.room_window
    asked = answer_leave(False)
    activate(qtbot, room)
    QTest.keyClick(room, Qt.Key_W, Qt.ControlModifier)
    qtbot.waitUntil(lambda: bool(asked), timeout=3000)
    qtbot.wait(300)
    assert room.isVisible() and not app.lobby.isVisible()
    answer_leave(True)
    activate(qtbot, room)
    QTest.keyClick(room, Qt.Key_W, Qt.ControlModifier)
    qtbot.waitUntil(lambda: app.lobby.isVisible() and not room.isVisible(), timeout=5000)


def test_chat_typed_during_an_outage_is_shown_waiting_then_sent(qtbot: Any, app: Any, tmp_path: Any) -> None:
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/restart.db"
    with running_meeting_server(db_url, port=port) as server:
        log_in(qtbot, app, server, "patient")
        create_room(qtbot, app, persistent=True)  # a kept room outlives the server
    room = app.room_window
    qtbot.waitUntil(lambda: room.banner.isVisible(), timeout=5000)
    room.chat.input.setText("said while the server was away")
    qtbot.mouseClick(room.chat.send_button, Qt.LeftButton)
    qtbot.wait(300)
    [waiting] = room.chat.pending_ids
    assert room.chat.pending_message(waiting).status_label.text() == "sending…"
    with running_meeting_server(db_url, port=port):
        qtbot.waitUntil(lambda: app.state == "rejoined", timeout=15_000)
        qtbot.waitUntil(lambda: "said while the server was away" in room.chat.messages.toPlainText(),
                        timeout=5000)
        qtbot.waitUntil(lambda: room.chat.pending_ids == [], timeout=5000)
    assert room.chat.messages.toPlainText().count("said while the server was away") == 1


def test_settings_opened_mid_call_change_the_codec_and_microphone_at_once(
        qtbot: Any, tmp_path: Any, server: Any) -> None:
    settings = make_settings(str(tmp_path / "c.ini"))
    settings.microphone = "silence"  # nothing heard at first
    app = MeetingApp(settings)
    try:
        log_in(qtbot, app, server, "tinkerer")
        room_id = create_room(qtbot, app)
        peer = guest(server, room_id)
        frames = peer.media_queue(4096)
        try:
            qtbot.waitUntil(lambda: any(h.codec is Codec.JPEG for h, _ in drain_frames(frames)), timeout=5000)
            room = app.room_window
            assert room.action_settings.isEnabled()
            dialog = app.open_settings()
            assert dialog.parent() is room  # opened over the call, not the lobby
            dialog.codec_combo.setCurrentIndex(dialog.codec_combo.findData("h264"))
            dialog.microphone_combo.setCurrentIndex(dialog.microphone_combo.findData("tone"))
            dialog.accept()
            assert room.isVisible()  # still in the call
            seen: list[Any] = []
            qtbot.waitUntil(lambda: seen.extend(drain_frames(frames)) or (
                any(h.stream is StreamKind.VIDEO and h.codec is Codec.H264 for h, _ in seen)
                and sum(h.stream is StreamKind.AUDIO for h, _ in seen) > 10), timeout=5000)
        finally:
            peer.close()
    finally:
        app.close()
