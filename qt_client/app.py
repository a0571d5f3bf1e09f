"""The desktop client's controller: windows on the GUI thread, work on the workers' threads.

The windows are views that emit what the user does; the workers run the
session and the media. This object connects the two, and owns the threads:
it starts the media workers when a room is entered and stops every thread
when the client closes.
"""

from __future__ import annotations

import logging
from typing import Any

from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QGuiApplication, QImage
from PyQt5.QtWidgets import QMessageBox, QPushButton

from protocol.media import Codec
from qt_client.media.video_source import parse_size
from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.dialogs import show_error_dialog, show_logged_in_elsewhere
from qt_client.ui.lobby_window import LobbyWindow
from qt_client.ui.login_window import LoginWindow
from qt_client.ui.room_window import RoomWindow
from qt_client.ui.settings_dialog import SettingsDialog
from qt_client.workers.audio_capture_worker import AudioCaptureWorker
from qt_client.workers.audio_playback_worker import AudioPlaybackWorker
from qt_client.workers.far_end_buffer import FarEndBuffer
from qt_client.workers.receive_worker import ReceiveWorker
from qt_client.workers.session_worker import SessionWorker
from qt_client.workers.video_capture_worker import VideoCaptureWorker
from qt_client.workers.worker_thread import WorkerThread

log = logging.getLogger(__name__)

CODECS = {"jpeg": Codec.JPEG, "h264": Codec.H264, "vp8": Codec.VP8}
SAMPLE_RATE = 48000
SCREEN_SHARE_FPS = 5
REQUESTS_FROM_LOGIN = {"login", "register"}


class MeetingApp(QObject):
    """Owns the three windows and every worker thread of one client."""

    # Requests to the session worker: queued across to its thread.
    _login = pyqtSignal(str, int, str, str, bool)
    _create_room = pyqtSignal(object, object, bool)
    _join_room = pyqtSignal(str, object)
    _leave_room = pyqtSignal()
    _list_rooms = pyqtSignal()
    _update_profile = pyqtSignal(object, object, object)
    _send_chat = pyqtSignal(str)
    _request_keyframe = pyqtSignal(int, int)
    _logout = pyqtSignal()
    # Switches for the media workers: queued to their threads, never called from this one.
    _camera_enabled = pyqtSignal(bool)
    _screen_share = pyqtSignal(bool)
    _face_effect = pyqtSignal(bool)
    _camera_keyframe = pyqtSignal(int)
    _microphone_muted = pyqtSignal(bool)
    _receiver_members = pyqtSignal(list)
    _receiver_shown = pyqtSignal(object)

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__()
        self.settings = settings
        self.login_window = LoginWindow()
        self.login_window.setWindowTitle("mini-meeting: log in")
        self.lobby = LobbyWindow()
        self.lobby.setWindowTitle("mini-meeting: lobby")
        self.room_window = RoomWindow()
        self.profile: dict[str, Any] | None = None
        self.state = "disconnected"
        self.far_end = FarEndBuffer(SAMPLE_RATE // 50 * 25)
        self.session = SessionWorker()
        self.session_thread = WorkerThread(self.session, "session")
        self.receive: ReceiveWorker | None = None
        self.receive_thread: WorkerThread | None = None
        self.video: VideoCaptureWorker | None = None
        self.audio: AudioCaptureWorker | None = None
        self.media_threads: list[WorkerThread] = []
        self.dialog: QMessageBox | None = None
        self._screen_timer = QTimer(self)
        self._screen_timer.setInterval(1000 // SCREEN_SHARE_FPS)
        self._screen_timer.timeout.connect(self._grab_screen)
        self._rtt_ms: float | None = None
        self._received_fps = 0.0
        self._dropped = 0
        self._connect_session()
        self._connect_windows()
        self.session_thread.start()
        self.login_window.set_fields(settings.server, settings.last_user)
        self.login_window.show()

    # -- wiring -------------------------------------------------------------

    def _connect_session(self) -> None:
        session = self.session
        self._login.connect(session.connect_and_login)
        self._create_room.connect(session.create_room)
        self._join_room.connect(session.join_room)
        self._leave_room.connect(session.leave_room)
        self._list_rooms.connect(session.list_rooms)
        self._update_profile.connect(session.update_profile)
        self._send_chat.connect(session.send_chat)
        self._request_keyframe.connect(session.request_keyframe)
        self._logout.connect(session.logout)
        session.logged_in.connect(self._on_logged_in)
        session.room_entered.connect(self._on_room_entered)
        session.room_left.connect(self._on_room_left)
        session.rooms_listed.connect(self.lobby.set_rooms)
        session.profile_updated.connect(self._on_profile_updated)
        session.request_failed.connect(self._on_request_failed)
        session.members_changed.connect(self._on_members_changed)
        session.chat_received.connect(self.room_window.chat.append_message)
        session.session_ended.connect(self._on_session_ended)
        session.state_changed.connect(self._on_state_changed)
        session.keyframe_requested.connect(self._on_keyframe_requested)
        session.stats.connect(self._on_session_stats)

    def _connect_windows(self) -> None:
        self.login_window.login_requested.connect(lambda s, u, p: self._log_in(s, u, p, register=False))
        self.login_window.register_requested.connect(lambda s, u, p: self._log_in(s, u, p, register=True))
        self.lobby.create_room_requested.connect(
            lambda title, password, persistent: self._create_room.emit(title or None, password or None,
                                                                       persistent))
        self.lobby.join_room_requested.connect(
            lambda room_id, password: self._join_room.emit(room_id, password or None))
        self.lobby.rooms_refresh_requested.connect(self._list_rooms.emit)
        self.lobby.profile_save_requested.connect(
            lambda name, signature, avatar: self._update_profile.emit(name, signature, avatar))
        self.lobby.logout_requested.connect(self._on_logout_requested)
        settings_button = QPushButton("Settings…")
        settings_button.setObjectName("settings")
        settings_button.clicked.connect(self.open_settings)
        self.lobby.layout().addWidget(settings_button)
        room = self.room_window
        room.chat.send_requested.connect(self._send_chat.emit)
        room.leave_requested.connect(self._leave_room.emit)
        room.microphone_toggled.connect(self._on_microphone_toggled)
        room.camera_toggled.connect(self._on_camera_toggled)
        room.face_effect_toggled.connect(self._on_face_effect_toggled)
        room.screen_share_toggled.connect(self._on_screen_share_toggled)

    # -- login and lobby ------------------------------------------------------

    def _log_in(self, server: str, user: str, password: str, register: bool) -> None:
        host, _, port = server.rpartition(":")
        self.login_window.set_busy(True)
        self.settings.server, self.settings.last_user = server, user
        self.settings.sync()
        self._login.emit(host, int(port), user, password, register)

    def _on_logged_in(self, profile: dict[str, Any]) -> None:
        self.profile = profile
        self.login_window.set_busy(False)
        self.login_window.hide()
        self.lobby.set_profile(profile)
        self.lobby.show()
        self._start_receiving()
        self._list_rooms.emit()

    def _on_profile_updated(self, profile: dict[str, Any]) -> None:
        self.profile = profile
        self.lobby.set_profile(profile)
        self.lobby.show_info("Profile saved.")

    def _on_logout_requested(self) -> None:
        self._stop_receiving()
        self._logout.emit()
        self.lobby.hide()
        self.login_window.show()

    def _on_request_failed(self, request: str, code: str, message: str) -> None:
        if request in REQUESTS_FROM_LOGIN or self.profile is None:
            self.login_window.set_busy(False)
            self.login_window.show_error(message)
        elif self.room_window.isVisible():
            self.room_window.chat.add_notice(message)
        else:
            self.lobby.show_error(message)

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.settings, self.lobby)
        dialog.open()
        return dialog

    # -- the room -------------------------------------------------------------

    def _on_room_entered(self, result: dict[str, Any]) -> None:
        room = self.room_window
        room.set_room(result["room"])
        room.chat.clear()
        for message in result.get("chat", []):
            room.chat.append_message(message)
        room.grid.set_members(result["members"])
        room.set_reconnecting(False)
        self.lobby.hide()
        room.show()
        self._start_media()

    def _on_room_left(self) -> None:
        self._stop_media()
        self.room_window.hide()
        self.lobby.show()
        self._list_rooms.emit()

    def _on_members_changed(self, members: list[dict[str, Any]]) -> None:
        before = set(self.room_window.grid.user_ids)
        self.room_window.grid.set_members(members)
        after = {m["user_id"]: m for m in members}
        for user_id in after.keys() - before:
            self.room_window.chat.add_notice(f"{after[user_id]['username']} joined")
        self._receiver_members.emit(members)

    def _on_session_ended(self, reason: str, message: str) -> None:
        self._stop_media()
        self._stop_receiving()
        self.room_window.hide()
        self.lobby.hide()
        self.profile = None
        self.login_window.show()
        if reason == "logged_in_elsewhere":
            self.dialog = show_logged_in_elsewhere(self.login_window)
        else:
            self.dialog = show_error_dialog(self.login_window, "Session ended", message)

    def _on_state_changed(self, state: str) -> None:
        self.state = state
        self.room_window.set_reconnecting(state == "reconnecting")
        self._show_status()

    def _on_session_stats(self, stats: dict[str, Any]) -> None:
        self._rtt_ms = stats.get("rtt_ms")
        self._show_status()

    def _on_receive_stats(self, stats: dict[int, dict[str, Any]]) -> None:
        self._received_fps = sum(peer.get("fps", 0.0) for peer in stats.values())
        self._dropped = sum(peer.get("dropped_late", 0) for peer in stats.values())
        self._show_status()

    def _show_status(self) -> None:
        self.room_window.set_status(self.state, self._rtt_ms, self._received_fps, self._dropped)

    # -- media workers --------------------------------------------------------

    def _start_receiving(self) -> None:
        """One receiver per login: it holds the client's media queue for the session's life."""
        client = self.session.client
        self.receive = ReceiveWorker(client, sample_rate=SAMPLE_RATE)
        self.receive.frames_ready.connect(self._paint_frames)
        self.receive.peer_level.connect(self._on_peer_level)
        self.receive.peer_speaking.connect(self._on_peer_speaking)
        self.receive.keyframe_needed.connect(self._request_keyframe.emit)
        self.receive.stats.connect(self._on_receive_stats)
        self._receiver_members.connect(self.receive.set_members)
        self._receiver_shown.connect(self.receive.set_shown)
        self.receive_thread = WorkerThread(self.receive, "receive")
        self.receive_thread.start()

    def _stop_receiving(self) -> None:
        if self.receive_thread is not None:
            self.receive_thread.stop()
        self.receive = self.receive_thread = None

    def _start_media(self) -> None:
        settings = self.settings
        client = self.session.client
        width, height = parse_size(settings.size)
        camera = None if settings.camera == "testpattern" else int(settings.camera)
        self.video = VideoCaptureWorker(client, codec=CODECS[settings.codec], width=width, height=height,
                                        fps=settings.fps, camera=camera, face_mode=settings.face_effect,
                                        enabled=self.room_window.action_camera.isChecked())
        self.video.preview.connect(self._show_own_preview)
        self._camera_enabled.connect(self.video.set_enabled)
        self._screen_share.connect(self.video.set_screen_share)
        self._face_effect.connect(self.video.set_face_effect)
        self._camera_keyframe.connect(self.video.request_keyframe)
        microphone = settings.microphone
        self.audio = AudioCaptureWorker(client, self.far_end, sample_rate=SAMPLE_RATE,
                                        use_microphone=microphone not in ("tone", "none"),
                                        fallback="tone" if microphone == "tone" else "silence",
                                        vad_aggressiveness=settings.vad_aggressiveness,
                                        echo_cancelling=settings.echo_cancelling,
                                        muted=not self.room_window.action_mic.isChecked())
        self._microphone_muted.connect(self.audio.set_muted)
        self.audio.level.connect(lambda db: self._own_tile_call("set_level", db))
        self.audio.speaking.connect(lambda on: self._own_tile_call("set_speaking", on))
        playback = AudioPlaybackWorker(self.far_end, sample_rate=SAMPLE_RATE)
        if self.receive is not None:
            self.receive.audio_frame.connect(playback.push_frame, Qt.DirectConnection)
        self.media_threads = [WorkerThread(self.video, "video-capture"),
                              WorkerThread(self.audio, "audio-capture"),
                              WorkerThread(playback, "audio-playback")]
        for thread in self.media_threads:
            thread.start()

    def _stop_media(self) -> None:
        self._screen_timer.stop()
        for thread in self.media_threads:
            thread.stop()
        self.media_threads = []
        self.video = self.audio = None

    def _paint_frames(self) -> None:
        """Show the newest frame of each sender; older ones were never queued for us."""
        if self.receive is None:
            return
        grid = self.room_window.grid
        for (user_id, _source), image in self.receive.frames.take().items():
            tile = grid.tile(user_id)
            if tile is not None:
                tile.show_image(image)

    def _show_own_preview(self, image: QImage) -> None:
        self._own_tile_call("show_image", image)

    def _own_tile_call(self, method: str, *args: Any) -> None:
        tile = self.room_window.grid.tile(self.profile["user_id"]) if self.profile else None
        if tile is not None:
            getattr(tile, method)(*args)

    def _on_peer_level(self, user_id: int, db: float) -> None:
        tile = self.room_window.grid.tile(user_id)
        if tile is not None:
            tile.set_level(db)

    def _on_peer_speaking(self, user_id: int, speaking: bool) -> None:
        tile = self.room_window.grid.tile(user_id)
        if tile is not None:
            tile.set_speaking(speaking)

    def _on_keyframe_requested(self, source: int = 0) -> None:
        self._camera_keyframe.emit(source)

    def _on_microphone_toggled(self, on: bool) -> None:
        self._microphone_muted.emit(not on)

    def _on_camera_toggled(self, on: bool) -> None:
        self._camera_enabled.emit(on)
        self._own_tile_call("set_camera_off", not on)

    def _on_face_effect_toggled(self, on: bool) -> None:
        self._face_effect.emit(on)

    def _on_screen_share_toggled(self, on: bool) -> None:
        self._screen_share.emit(on)
        if on:
            self._screen_timer.start()
        else:
            self._screen_timer.stop()

    def _grab_screen(self) -> None:
        """Screen grabs must happen on the GUI thread; the capture worker encodes them."""
        screen = QGuiApplication.primaryScreen()
        if screen is None or self.video is None:
            return
        # Only the grab happens here; converting, scaling and encoding are the worker's.
        self.video.submit_screen_image(screen.grabWindow(0).toImage())

    # -- closing --------------------------------------------------------------

    def close(self) -> None:
        """Stop every thread: media first, the session (which owns the connection) last."""
        self._stop_media()
        self._stop_receiving()
        self.session_thread.stop()
        for window in (self.room_window, self.lobby, self.login_window):
            window.hide()
