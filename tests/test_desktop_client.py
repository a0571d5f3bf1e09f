"""The desktop client end to end: real widgets (offscreen), real server, a bot and a second client."""

import json
import os
import subprocess
import sys
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PyQt5.QtCore import Qt

from protocol.media import StreamKind
from qt_client.app import MeetingApp
from qt_client.net import MeetingClient
from qt_client.ui.client_settings import ClientSettings
from tests.conftest import free_base_port, running_meeting_server
from tests.desktop_support import create_room, guest, log_in

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def server(tmp_path):
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", threads=1) as server:
        yield server


@pytest.fixture
def settings(tmp_path):
    settings = ClientSettings(str(tmp_path / "client.ini"))
    settings.microphone = "tone"  # no microphone here: a tone that the voice detector lets through
    settings.codec = "jpeg"
    settings.size = "320x240"
    return settings


@pytest.fixture
def app(qtbot, settings):
    meeting = MeetingApp(settings)
    yield meeting
    meeting.close()


def test_a_bot_appears_as_a_live_tile_with_big_view_and_back(qtbot, app, server):
    log_in(qtbot, app, server, "host")
    room_id = create_room(qtbot, app)
    command = [sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{server.control_port}",
               "--user", "bot", "--password", "bot-password", "--room", room_id, "--size", "320x240",
               "--codec", "jpeg", "--seconds", "6", "--audio", "none"]
    bot = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        grid = app.room_window.grid
        qtbot.waitUntil(lambda: len(grid.user_ids) == 2, timeout=15_000)
        bot_id = next(uid for uid in grid.user_ids if uid != app.profile["user_id"])
        tile = grid.tile(bot_id)
        qtbot.waitUntil(lambda: tile.frames_shown >= 3, timeout=10_000)
        first = tile.grab().toImage()
        qtbot.wait(400)
        assert tile.grab().toImage() != first  # the picture moves
        qtbot.mouseClick(tile, Qt.LeftButton)
        assert grid.big_view_user == bot_id
        qtbot.mouseClick(tile, Qt.LeftButton)
        assert grid.big_view_user is None
        assert "bot joined" in app.room_window.chat.messages.toPlainText()
    finally:
        stdout, _ = bot.communicate(timeout=60)
    report = json.loads(stdout.strip().splitlines()[-1])
    host_frames = report["peers"]["host"]["video_frames"]
    assert host_frames > 10  # and the bot saw us


def test_chat_both_ways_mute_and_camera_off(qtbot, app, server):
    log_in(qtbot, app, server, "host")
    room_id = create_room(qtbot, app)
    peer = guest(server, room_id)
    received = {StreamKind.AUDIO: 0, StreamKind.VIDEO: 0}
    lock = threading.Lock()

    def count(header, _payload):
        with lock:
            received[header.stream] += 1

    peer.on_media = count
    try:
        chat = app.room_window.chat
        chat.input.setText("hello from the desktop")
        qtbot.mouseClick(chat.send_button, Qt.LeftButton)
        peer.chat("hello from the guest")
        qtbot.waitUntil(lambda: "hello from the guest" in chat.messages.toPlainText(), timeout=5_000)
        assert "hello from the desktop" in chat.messages.toPlainText()
        qtbot.waitUntil(lambda: received[StreamKind.AUDIO] > 10 and received[StreamKind.VIDEO] > 3,
                        timeout=10_000)

        app.room_window.action_mic.trigger()  # mute
        qtbot.wait(300)
        with lock:
            audio_after_mute = received[StreamKind.AUDIO]
        qtbot.wait(600)
        assert received[StreamKind.AUDIO] == audio_after_mute

        app.room_window.action_camera.trigger()  # camera off
        qtbot.wait(300)
        with lock:
            video_after_off = received[StreamKind.VIDEO]
        qtbot.wait(600)
        assert received[StreamKind.VIDEO] == video_after_off
    finally:
        peer.close()


def test_a_second_login_shows_logged_in_elsewhere(qtbot, app, server):
    log_in(qtbot, app, server, "twice")
    other = MeetingClient("127.0.0.1", server.control_port)
    other.connect()
    other.login("twice", "secret-pw")
    try:
        qtbot.waitUntil(lambda: app.dialog is not None and app.dialog.isVisible(), timeout=10_000)
        assert app.dialog.windowTitle() == "Logged in elsewhere"
        assert app.login_window.isVisible() and not app.lobby.isVisible()
    finally:
        other.close()


def test_wrong_password_and_unreachable_server_are_told_plainly(qtbot, app, server):
    log_in(qtbot, app, server, "carol")
    app._on_logout_requested()
    login = app.login_window
    login.password_edit.setText("not-the-password")
    qtbot.mouseClick(login.login_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "wrong user name or password" in login.error_label.text().lower(), timeout=10_000)
    login.server_edit.setText("127.0.0.1:1")
    login.password_edit.setText("secret-pw")
    qtbot.mouseClick(login.login_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: "reach" in login.error_label.text(), timeout=15_000)


def test_settings_and_last_user_survive_a_restart(qtbot, app, server, settings, tmp_path):
    log_in(qtbot, app, server, "remembered")
    again = ClientSettings(str(tmp_path / "client.ini"))
    assert again.last_user == "remembered"
    assert again.server == f"127.0.0.1:{server.control_port}"
    assert again.codec == "jpeg" and again.size == "320x240"


def test_closing_mid_call_leaves_no_thread_running(qtbot, server, settings):
    app = MeetingApp(settings)
    log_in(qtbot, app, server, "leaver")
    create_room(qtbot, app)
    threads = [app.session_thread, *app.media.threads]
    assert len(threads) == 5  # session, receive, video and audio capture, playback
    app.close()
    assert all(t.qthread.isFinished() for t in threads)
    leftover = [t.name for t in threading.enumerate() if t.name.startswith("meeting-client")]
    assert leftover == []


def test_the_room_shows_reconnecting_and_rejoins_after_a_server_restart(qtbot, settings, tmp_path):
    port, db_url = free_base_port(), f"sqlite:///{tmp_path}/restart.db"
    app = MeetingApp(settings)
    try:
        with running_meeting_server(db_url, port=port) as server:
            log_in(qtbot, app, server, "stayer")
            room_id = create_room(qtbot, app, persistent=True)  # a kept room outlives the server
        qtbot.waitUntil(lambda: app.room_window.banner.isVisible(), timeout=5_000)
        # The attempts are counted for the user while the server is away.
        qtbot.waitUntil(lambda: "attempt 2" in app.room_window.banner.text(), timeout=5_000)
        with running_meeting_server(db_url, port=port):
            # "reconnected" (logged in again) comes first, then "rejoined" (back in the room).
            qtbot.waitUntil(lambda: app.state == "rejoined", timeout=15_000)
            assert not app.room_window.banner.isVisible()
            assert app.room_window.isVisible() and app.room_window.room_id == room_id
    finally:
        app.close()


def test_profile_edits_are_saved_and_saved_rooms_are_listed_and_joinable(qtbot, app, server):
    owner = MeetingClient("127.0.0.1", server.control_port)
    owner.connect()
    owner.register("owner", "secret-pw")
    owner.login("owner", "secret-pw")
    saved = owner.create_room(title="Book club", persistent=True)["room"]
    owner.leave_room()
    try:
        log_in(qtbot, app, server, "reader")
        lobby = app.lobby
        lobby.display_name_edit.setText("Avid Reader")
        lobby.signature_edit.setText("one more chapter")
        qtbot.mouseClick(lobby.save_profile_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "saved" in lobby.message_label.text().lower(), timeout=10_000)

        qtbot.waitUntil(lambda: "Book club" in lobby.room_list.item(0).text(), timeout=10_000)
        lobby.room_list.setCurrentRow(0)
        qtbot.mouseClick(lobby.join_listed_button, Qt.LeftButton)
        qtbot.waitUntil(lambda: app.room_window.isVisible(), timeout=10_000)
        assert app.room_window.room_id == saved["room_id"]
        # Others see the saved profile once they share a room with the reader.
        owner.join_room(saved["room_id"])
        seen = owner.get_profile("reader")
        assert (seen["display_name"], seen["signature"]) == ("Avid Reader", "one more chapter")
    finally:
        owner.close()
