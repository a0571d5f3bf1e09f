"""The desktop client's controller: windows on the GUI thread, work on the workers' threads.

The windows are views that emit what the user does; the workers run the
session and the media. This object connects the two and owns the session
thread; `CallMedia` owns the media workers. Nothing here calls a worker's
method: every request is a signal, queued to the worker's thread.
"""

from __future__ import annotations

import logging
from typing import Any

from PyQt5.QtCore import QObject, QUrl, pyqtSignal
from PyQt5.QtGui import QDesktopServices, QGuiApplication
from PyQt5.QtWidgets import QInputDialog, QMessageBox, QPushButton

from qt_client.call_media import CallMedia
from qt_client.net.avatar import decode_avatar
from qt_client.net.pin_store import PinStore
from qt_client.net.server_trust import ServerTrust
from qt_client.room_events import by_id, presenter_name, room_events
from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.dialogs import show_error_dialog, show_logged_in_elsewhere
from qt_client.ui.lobby_window import LobbyWindow
from qt_client.ui.login_window import LoginWindow
from qt_client.ui.room_window import RoomWindow
from qt_client.ui.settings_dialog import SettingsDialog
from qt_client.ui.trust_dialogs import show_server_key_changed
from qt_client.workers.session_worker import CANCELLED, SERVER_KEY_CHANGED, SessionWorker
from qt_client.workers.trust_prompt import TrustPrompt
from qt_client.workers.worker_thread import WorkerThread

log = logging.getLogger(__name__)

REQUESTS_FROM_LOGIN = {"login", "register", "login_with_provider"}
REQUESTS_FROM_SIGN_IN_METHODS = {"link_provider", "unlink_provider", "get_sign_in_methods"}


class MeetingApp(QObject):
    """Owns the three windows, the session thread and the call's media."""

    # Requests to the session worker: queued across to its thread.
    _login = pyqtSignal(str, int, str, str, bool)
    _create_room = pyqtSignal(object, object, bool)
    _join_room = pyqtSignal(str, object)
    _leave_room = pyqtSignal()
    _list_rooms = pyqtSignal()
    _more_rooms = pyqtSignal(str)
    _update_profile = pyqtSignal(object, object, object)
    _send_chat = pyqtSignal(str, str)
    _request_keyframe = pyqtSignal(int, int)
    _set_media_state = pyqtSignal(object)
    _fetch_avatar = pyqtSignal(int, str)
    _logout = pyqtSignal()
    _list_providers = pyqtSignal(str, int)
    _login_with_provider = pyqtSignal(str, int, str, int)
    _load_sign_in_methods = pyqtSignal()
    _link_provider = pyqtSignal(str, int)
    _unlink_provider = pyqtSignal(str)

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
        self.trust_prompt = TrustPrompt(self.login_window)
        self.session = SessionWorker(make_trust=self._make_trust)
        self.session_thread = WorkerThread(self.session, "session")
        self.media = CallMedia(settings, self.room_window)
        self.dialog: QMessageBox | None = None
        self.settings_dialog: SettingsDialog | None = None
        self._members: dict[int, dict[str, Any]] = {}
        self._rtt_ms: float | None = None
        self._received_fps = 0.0
        self._dropped = 0
        self.providers: list[dict[str, Any]] = []  # what the server dialled last offers
        self._providers_server = ""  # the server (host:port) those providers are of
        self._connect_session()
        self._connect_windows()
        self.session_thread.start()
        self.login_window.set_fields(settings.server, settings.last_user)
        self.login_window.show()
        self.login_window.ask_for_providers()

    # -- wiring -------------------------------------------------------------

    def _connect_session(self) -> None:
        session = self.session
        self._login.connect(session.connect_and_login)
        self._create_room.connect(session.create_room)
        self._join_room.connect(session.join_room)
        self._leave_room.connect(session.leave_room)
        self._list_rooms.connect(session.list_rooms)
        self._more_rooms.connect(session.more_rooms)
        self._update_profile.connect(session.update_profile)
        self._send_chat.connect(session.send_chat)
        self._request_keyframe.connect(session.request_keyframe)
        self._set_media_state.connect(session.set_media_state)
        self._fetch_avatar.connect(session.fetch_avatar)
        self._logout.connect(session.logout)
        self._list_providers.connect(session.list_providers)
        self._login_with_provider.connect(session.login_with_provider)
        self._load_sign_in_methods.connect(session.load_sign_in_methods)
        self._link_provider.connect(session.link_provider)
        self._unlink_provider.connect(session.unlink_provider)
        session.providers_listed.connect(self._on_providers_listed)
        session.browser_wanted.connect(self._open_browser)
        session.sign_in_methods.connect(self._on_sign_in_methods)
        session.logged_in.connect(self._on_logged_in)
        session.room_entered.connect(self._on_room_entered)
        session.room_left.connect(self._on_room_left)
        session.rooms_listed.connect(self.lobby.set_rooms)
        session.more_rooms_listed.connect(self.lobby.add_rooms)
        session.profile_updated.connect(self._on_profile_updated)
        session.request_failed.connect(self._on_request_failed)
        session.members_changed.connect(self._on_members_changed)
        session.chat_received.connect(self.room_window.chat.append_message)
        session.chat_sent.connect(self.room_window.chat.mark_sent)
        session.chat_failed.connect(self._on_chat_failed)
        session.avatar_fetched.connect(self._on_avatar_fetched)
        session.session_ended.connect(self._on_session_ended)
        session.state_changed.connect(self._on_state_changed)
        session.reconnect_attempt.connect(self._on_reconnect_attempt)
        session.keyframe_requested.connect(self.media.send_keyframe)
        session.stats.connect(self._on_session_stats)
        self.media.keyframe_wanted.connect(self._request_keyframe)
        self.media.notice.connect(self.room_window.chat.add_notice)
        self.media.receive_stats.connect(self._on_receive_stats)

    def _connect_windows(self) -> None:
        self.login_window.login_requested.connect(lambda s, u, p: self._log_in(s, u, p, register=False))
        self.login_window.register_requested.connect(lambda s, u, p: self._log_in(s, u, p, register=True))
        self.login_window.providers_wanted.connect(self._ask_for_providers)
        self.login_window.provider_login_requested.connect(self._log_in_with_provider)
        # Not a queued signal: the session thread is blocked in the login it would cancel.
        self.login_window.provider_login_cancelled.connect(self._cancel_provider_flow)
        sign_in = self.lobby.sign_in_methods
        sign_in.link_requested.connect(
            lambda name: self._link_provider.emit(name, self.session.new_provider_flow()))
        sign_in.unlink_requested.connect(self._unlink_provider.emit)
        sign_in.link_cancelled.connect(self._cancel_provider_flow)
        self.lobby.create_room_requested.connect(
            lambda title, password, persistent: self._create_room.emit(title or None, password or None,
                                                                       persistent))
        self.lobby.join_room_requested.connect(
            lambda room_id, password: self._join_room.emit(room_id, password or None))
        self.lobby.rooms_refresh_requested.connect(self._list_rooms.emit)
        self.lobby.more_rooms_requested.connect(self._more_rooms.emit)
        self.lobby.profile_save_requested.connect(
            lambda name, signature, avatar: self._update_profile.emit(name, signature, avatar))
        self.lobby.logout_requested.connect(self._on_logout_requested)
        settings_button = QPushButton("Settings…")
        settings_button.setObjectName("settings")
        settings_button.clicked.connect(self.open_settings)
        self.lobby.layout().addWidget(settings_button)
        room = self.room_window
        room.chat.send_requested.connect(self._send_chat_line)
        room.chat.retry_requested.connect(self._retry_chat_line)
        room.leave_requested.connect(self._leave_room.emit)
        room.settings_requested.connect(self.open_settings)
        room.microphone_toggled.connect(self._on_microphone_toggled)
        room.camera_toggled.connect(self._on_camera_toggled)
        room.face_effect_toggled.connect(self.media.set_face_effect)
        room.screen_share_toggled.connect(self._on_screen_share_toggled)
        room.grid.avatar_needed.connect(self._fetch_avatar)

    # -- login and lobby ------------------------------------------------------

    def _make_trust(self) -> ServerTrust:
        """System CAs (or the settings' CA file); a self-signed server's key pinned once the person agrees."""
        return ServerTrust(pins=PinStore(self.settings.known_servers_path), ask=self.trust_prompt.ask,
                           cafile=self.settings.ca_file or None)

    def _log_in(self, server: str, user: str, password: str, register: bool) -> None:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            self.login_window.show_error("Type the server as host:port, for example 127.0.0.1:9000.")
            return
        self.login_window.set_busy(True)
        self._forget_other_servers_providers(server)
        self.settings.server, self.settings.last_user = server, user
        self.settings.sync()
        self._login.emit(host, int(port), user, password, register)

    def _ask_for_providers(self, server: str) -> None:
        host, _, port = server.rpartition(":")
        if host and port.isdigit():
            self._providers_server = server
            self._list_providers.emit(host, int(port))

    def _forget_other_servers_providers(self, server: str) -> None:
        """A login to another server than the one listed: its buttons would offer the wrong providers."""
        if server != self._providers_server:
            self._providers_server = server
            self._on_providers_listed([])

    def _on_providers_listed(self, providers: list[dict[str, Any]]) -> None:
        self.providers = providers
        self.login_window.set_providers(providers)

    def _log_in_with_provider(self, server: str, name: str) -> None:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            self.login_window.set_busy(False)
            self.login_window.show_error("Type the server as host:port, for example 127.0.0.1:9000.")
            return
        self.settings.server = server
        self.settings.sync()
        self._login_with_provider.emit(host, int(port), name, self.session.new_provider_flow())

    def _cancel_provider_flow(self) -> None:
        # A direct call, from this (GUI) thread: the session worker's own thread is blocked waiting.
        self.session.cancel_provider_flow()

    def _open_browser(self, url: str) -> None:
        """The provider's page in the person's own browser, where their provider account is signed in."""
        if not QDesktopServices.openUrl(QUrl(url)):
            log.warning("no browser could be opened for a provider login")
            message = f"Open this address in your browser to continue: {url}"
            if self.profile is None:
                self.login_window.show_error(message)
            else:
                self.lobby.sign_in_methods.show_message(message)

    def _on_sign_in_methods(self, methods: dict[str, Any]) -> None:
        self.lobby.sign_in_methods.set_methods(self.providers, methods["linked_providers"],
                                               bool(methods["has_password"]))

    def _on_logged_in(self, profile: dict[str, Any]) -> None:
        self.profile = profile
        self.login_window.set_busy(False)
        self.login_window.hide()
        self.lobby.set_profile(profile)
        self.lobby.show()
        assert self.session.client is not None  # set before logged_in is emitted
        self.media.start_receiving(self.session.client, int(profile["user_id"]))
        self._list_rooms.emit()
        self.lobby.sign_in_methods.set_methods(self.providers, None, True)
        self._load_sign_in_methods.emit()  # the providers again too: a password login may have changed server

    def _on_profile_updated(self, profile: dict[str, Any]) -> None:
        self.profile = profile
        self.lobby.profile_saved(profile)

    def _on_logout_requested(self) -> None:
        self.media.stop_receiving()
        self._logout.emit()
        self.lobby.hide()
        self.login_window.show()

    def _on_request_failed(self, request: str, code: str, message: str) -> None:
        if code == CANCELLED:
            return  # the person cancelled, and the window already shows it
        if request == "list_providers":
            self.login_window.set_providers([])
            if self.login_window.busy:
                return  # a login is queued behind the listing: it says why it fails itself
        if request in REQUESTS_FROM_SIGN_IN_METHODS:
            self.lobby.sign_in_methods.failed(message)
        elif code == SERVER_KEY_CHANGED:
            self.login_window.set_busy(False)
            self.login_window.show_error("Not connected: the server's key changed.")
            self.dialog = show_server_key_changed(self.login_window, message)
        elif request in REQUESTS_FROM_LOGIN or self.profile is None:
            self.login_window.set_busy(False)
            self.login_window.show_error(message)
        elif request == "update_profile":
            self.lobby.profile_save_failed(message)
        elif self.room_window.isVisible():
            self.room_window.chat.add_notice(message)
        else:
            self.lobby.show_error(message)

    def open_settings(self) -> SettingsDialog:
        """The settings, from the lobby or mid-call; what changes applies at once."""
        parent = self.room_window if self.room_window.isVisible() else self.lobby
        dialog = self.settings_dialog = SettingsDialog(self.settings, parent)
        dialog.settings_applied.connect(self._on_settings_applied)
        dialog.open()
        return dialog

    def _on_settings_applied(self, changed: dict[str, Any]) -> None:
        room = self.room_window
        self.media.apply_settings(changed, room.action_mic.isChecked(), room.action_camera.isChecked(),
                                  room.action_screen.isChecked())

    # -- the room -------------------------------------------------------------

    def _on_room_entered(self, result: dict[str, Any]) -> None:
        room = self.room_window
        me = int(self.profile["user_id"]) if self.profile else None
        room.set_room(result["room"])
        room.set_local_user(me)
        room.chat.clear()
        for message in result.get("chat", []):
            room.chat.append_message(message)
        if self.profile:
            avatar = decode_avatar(self.profile)
            room.grid.set_avatar(me, avatar)
            room.chat.set_avatar(me, avatar)
        self._members = {}
        self._on_members_changed(result["members"])
        room.set_reconnecting(False)
        self.lobby.hide()
        room.show()
        self._say_media_state()
        self.media.start_call(room.action_mic.isChecked(), room.action_camera.isChecked())

    def _on_room_left(self) -> None:
        self.media.stop_call()
        room = self.room_window
        if room.action_screen.isChecked():
            room.action_screen.setChecked(False)  # a share ends with the meeting
        room.set_sharing(False)
        room.set_presenter(None)
        room.hide()
        self.lobby.show()
        self._list_rooms.emit()

    def _on_members_changed(self, members: list[dict[str, Any]]) -> None:
        room = self.room_window
        me = int(self.profile["user_id"]) if self.profile else None
        after = by_id(members)
        room.grid.set_members(members)
        if self._members:  # the first list is who was there already, not news
            for event in room_events(self._members, after, me):
                room.chat.add_event(event)
        self._members = after
        room.set_presenter(presenter_name(after, me))
        self.media.members_changed(members)

    def _on_avatar_fetched(self, user_id: int, image: bytes, _hash: str) -> None:
        self.room_window.grid.set_avatar(user_id, image)
        self.room_window.chat.set_avatar(user_id, image)

    def _send_chat_line(self, local_id: str, text: str) -> None:
        # Shown as "sending…" until the server takes it; while reconnecting it waits, visibly.
        self.room_window.chat.add_pending(local_id, text)
        self._send_chat.emit(local_id, text)

    def _retry_chat_line(self, local_id: str) -> None:
        pending = self.room_window.chat.pending_message(local_id)
        if pending is not None:
            self._send_chat.emit(local_id, pending.text)

    def _on_chat_failed(self, local_id: str, why: str) -> None:
        self.room_window.chat.mark_failed(local_id)
        log.info("chat line %s not sent: %s", local_id, why)

    def _on_session_ended(self, reason: str, message: str) -> None:
        self.media.close()
        self.room_window.hide()
        self.lobby.hide()
        self.profile = None
        self.login_window.set_busy(False)
        self.login_window.show()
        if reason == "logged_in_elsewhere":
            self.dialog = show_logged_in_elsewhere(self.login_window)
        elif reason == "server_key_changed":
            self.dialog = show_server_key_changed(self.login_window, message)
        else:
            self.dialog = show_error_dialog(self.login_window, "Session ended",
                                            message or "The server ended the session. Log in again.")

    def _on_state_changed(self, state: str) -> None:
        self.state = state
        self.room_window.set_reconnecting(state == "reconnecting")
        if state != "rejoined" and state != "connected" and state != "reconnected":
            self._rtt_ms = None  # a round trip measured before the outage says nothing now
        self._show_status()

    def _on_reconnect_attempt(self, attempt: int) -> None:
        if self.state == "reconnecting":
            self.room_window.set_reconnecting(True, attempt)

    def _on_session_stats(self, stats: dict[str, Any]) -> None:
        self._rtt_ms = stats.get("rtt_ms") if self.state != "reconnecting" else None
        self._show_status()

    def _on_receive_stats(self, fps: float, dropped: int) -> None:
        self._received_fps, self._dropped = fps, dropped
        self._show_status()

    def _show_status(self) -> None:
        self.room_window.set_status(self.state, self._rtt_ms, self._received_fps, self._dropped)

    # -- one's own media --------------------------------------------------------

    def _say_media_state(self) -> None:
        room = self.room_window
        self._set_media_state.emit({"microphone": room.action_mic.isChecked(),
                                    "camera": room.action_camera.isChecked(),
                                    "screen": room.action_screen.isChecked()})

    def _on_microphone_toggled(self, on: bool) -> None:
        self.media.set_microphone_on(on)
        self._say_media_state()

    def _on_camera_toggled(self, on: bool) -> None:
        self.media.set_camera_on(on)
        self._say_media_state()

    def _on_screen_share_toggled(self, on: bool) -> None:
        room = self.room_window
        screen_index = 0
        if on:
            chosen = self._choose_screen()
            if chosen is None:
                room.action_screen.setChecked(False)  # cancelled: emits the toggle back off
                return
            screen_index = chosen
        self.media.set_screen_share(on, screen_index)
        room.set_sharing(on)
        self._say_media_state()

    def _choose_screen(self) -> int | None:
        """Which screen to share when there are several; None when the user cancels."""
        screens = QGuiApplication.screens()
        if len(screens) <= 1:
            return 0
        names = [f"Screen {i + 1}: {s.name()} ({s.size().width()}x{s.size().height()})"
                 for i, s in enumerate(screens)]
        name, ok = QInputDialog.getItem(self.room_window, "Share screen", "Which screen?", names, 0, False)
        return names.index(name) if ok else None

    # -- closing --------------------------------------------------------------

    def close(self) -> None:
        """Stop every thread: media first, the session (which owns the connection) last."""
        self.media.close()
        self.trust_prompt.cancel_all()  # a session thread waiting for an answer is told no
        self.session.cancel_provider_flow()  # nor for a browser that nobody will finish in
        self.session_thread.stop()
        for window in (self.room_window, self.lobby, self.login_window):
            window.hide()
