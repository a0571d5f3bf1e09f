"""The client session on a thread of its own: blocking server calls never freeze the window."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PyQt5.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot

from protocol.errors import ErrorCode
from protocol.media import MediaSource
from qt_client.net.errors import (
    ClientTimeout,
    NotConnectedError,
    ServerError,
    ServerKeyChangedError,
    UntrustedServerError,
)
from qt_client.net.meeting_client import MeetingClient
from qt_client.net.server_trust import ServerTrust

log = logging.getLogger(__name__)

UNREACHABLE = "UNREACHABLE"  # not a server code: the server could not be reached at all
# Not server codes either: TLS refused the server (its key changed; or nobody trusted its new key).
SERVER_KEY_CHANGED = "SERVER_KEY_CHANGED"
SERVER_NOT_TRUSTED = "SERVER_NOT_TRUSTED"
CANCELLED = "CANCELLED"  # the person pressed Cancel while a provider login or link waited (client-side code)
STATS_INTERVAL_MS = 1000
PROVIDER_TIMEOUT = 300.0  # as long as the server keeps a login through a provider open


class SessionWorker(QObject):
    """Owns the MeetingClient; its slots are the GUI's requests, its signals the answers and pushes.

    Every request either emits its result signal or `request_failed(request, code,
    message)`, so the GUI can always leave its "busy" state. The client's callbacks
    run on the client's network thread and are re-emitted as signals, which Qt
    queues to whoever listens. `client` is for the media workers, once logged in.
    """

    logged_in = pyqtSignal(dict)
    room_entered = pyqtSignal(dict)
    room_left = pyqtSignal()
    # A page of rooms and the cursor of the next (None on the last): the first page, and further ones.
    rooms_listed = pyqtSignal(list, object)
    more_rooms_listed = pyqtSignal(list, object)
    profile_updated = pyqtSignal(dict)
    request_failed = pyqtSignal(str, str, str)
    members_changed = pyqtSignal(list)
    chat_received = pyqtSignal(dict)
    session_ended = pyqtSignal(str, str)
    state_changed = pyqtSignal(str)
    reconnect_attempt = pyqtSignal(int)  # the attempt under way while the server is away
    keyframe_requested = pyqtSignal(int)  # MediaSource: which of our streams someone needs a key frame of
    avatar_fetched = pyqtSignal(int, bytes, str)  # user id, image bytes (b"": none), its hash
    chat_sent = pyqtSignal(str)  # local id of a line the server took
    chat_failed = pyqtSignal(str, str)  # local id, why (plain words): shown with a retry
    _outbox_lost = pyqtSignal(str)  # from the network thread, to ours
    stats = pyqtSignal(dict)
    providers_listed = pyqtSignal(list)  # [{"name", "display_name", "kind"}] of the server dialled last
    browser_wanted = pyqtSignal(str)  # a provider login's start page, for the GUI thread to open
    sign_in_methods = pyqtSignal(dict)  # {"linked_providers": [str], "has_password": bool}

    def __init__(self, *, connect_timeout: float = 5.0, request_timeout: float = 10.0,
                 client_name: str = "mini-meeting",
                 make_trust: Callable[[], ServerTrust] | None = None) -> None:
        super().__init__()
        # A new ServerTrust per server dialled (pins, the question to ask): system CAs only without it.
        self.make_trust = make_trust or ServerTrust
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.client_name = client_name
        self.client: MeetingClient | None = None
        self._stats_timer: QTimer | None = None
        # Chat lines typed while the connection was down, by local id: sent when the room is back.
        self._outbox: dict[str, str] = {}
        # Emitted on the client's network thread; handled on ours.
        self.state_changed.connect(self._on_state)
        self._outbox_lost.connect(self._fail_outbox)
        # Provider flows block this thread while the person is in their browser, so Cancel cannot be
        # a queued signal: the GUI numbers each flow and cancels by number, from its own thread.
        self._flow_lock = threading.Lock()
        self._last_flow = 0
        self._cancelled_up_to = 0
        self._browser_flow = 0  # the last flow that reached the browser step (only this thread writes it)

    # -- lifetime (on the worker's thread) ------------------------------------

    @pyqtSlot()
    def start(self) -> None:
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self._emit_stats)
        self._stats_timer.start(STATS_INTERVAL_MS)

    @pyqtSlot()
    def stop(self) -> None:
        if self._stats_timer is not None:
            self._stats_timer.stop()
        self.close()

    @pyqtSlot()
    def close(self) -> None:
        """Drop the connections (the server ends the session and tells the room)."""
        client, self.client = self.client, None
        if client is not None:
            client.close()

    # -- requests -------------------------------------------------------------

    @pyqtSlot(str, int, str, str, bool)
    def connect_and_login(self, host: str, port: int, user: str, password: str, register: bool) -> None:
        request = "register" if register else "login"
        try:
            client = self._connected_client(host, port)
            if register:
                client.register(user, password)
                request = "login"
            result = client.login(user, password)
        except (ServerError, NotConnectedError, ClientTimeout, OSError) as exc:
            self._fail(request, exc)
            return
        self.logged_in.emit(result["user"])

    @pyqtSlot(str, int)
    def list_providers(self, host: str, port: int) -> None:
        """Connects if need be (a login reuses the connection) and says which providers the server offers."""
        try:
            providers = self._connected_client(host, port).list_providers()
        except (ServerError, NotConnectedError, ClientTimeout, OSError) as exc:
            self._fail("list_providers", exc)
            return
        self.providers_listed.emit(providers)

    def new_provider_flow(self) -> int:
        """Any thread: the number of the next login or link through a provider, for cancel_provider_flow."""
        with self._flow_lock:
            self._last_flow += 1
            return self._last_flow

    def cancel_provider_flow(self) -> None:
        """Any thread: the flows numbered so far end with CANCELLED, now or as soon as they begin waiting."""
        with self._flow_lock:
            self._cancelled_up_to = self._last_flow
        client = self.client
        if client is not None:
            client.cancel_provider_login()

    def _cancelled(self, flow: int) -> bool:
        with self._flow_lock:
            return flow <= self._cancelled_up_to

    def _open_browser(self, client: MeetingClient, flow: int) -> Callable[[str], None]:
        def open_browser(url: str) -> None:
            # Called once the client waits for the outcome: a Cancel from before is honoured here.
            self._browser_flow = flow
            if self._cancelled(flow):
                client.cancel_provider_login()
            else:
                self.browser_wanted.emit(url)
        return open_browser

    @pyqtSlot(str, int, str, int)
    def login_with_provider(self, host: str, port: int, name: str, flow: int) -> None:
        """Log in through a provider in the person's browser; ends as a password login does."""
        try:
            if self._cancelled(flow):
                raise ServerError(CANCELLED, "The login was cancelled.")
            client = self._connected_client(host, port)
            result = client.login_with_provider(name, self._open_browser(client, flow), PROVIDER_TIMEOUT)
        except ServerError as exc:
            if exc.code == CANCELLED:
                # The server keeps one provider login per connection until it expires: closing this
                # one makes it forget it, so finishing it in the browser later logs nobody in.
                self.close()
            self._fail("login_with_provider", exc)
            return
        except ClientTimeout as exc:
            self.close()
            self._fail_waiting("login_with_provider", flow, exc)
            return
        except (NotConnectedError, OSError) as exc:
            self._fail("login_with_provider", exc)
            return
        self.logged_in.emit(result["user"])

    def _fail_waiting(self, request: str, flow: int, exc: ClientTimeout) -> None:
        """A timeout during the browser step is the person's time running out, not the server's."""
        if self._browser_flow != flow:
            self._fail(request, exc)
            return
        self.request_failed.emit(request, ErrorCode.LOGIN_EXPIRED,
                                 "It was not finished in your browser in time. Start again.")

    @pyqtSlot()
    def load_sign_in_methods(self) -> None:
        """The server's providers, then which of them lead into this account (for the lobby's panel)."""
        client = self.client
        if client is None:
            self.request_failed.emit("get_sign_in_methods", ErrorCode.NOT_LOGGED_IN, "Log in first.")
            return
        try:
            providers = client.list_providers()
            methods = _sign_in_methods(client) if providers else {"linked_providers": [],
                                                                       "has_password": True}
        except (ServerError, NotConnectedError, ClientTimeout) as exc:
            self._fail("get_sign_in_methods", exc)
            return
        self.providers_listed.emit(providers)
        self.sign_in_methods.emit(methods)

    @pyqtSlot(str, int)
    def link_provider(self, name: str, flow: int) -> None:
        """Add a provider as a way into this account, in the person's browser."""
        client = self.client
        if client is None:
            self.request_failed.emit("link_provider", ErrorCode.NOT_LOGGED_IN, "Log in first.")
            return
        try:
            if self._cancelled(flow):
                raise ServerError(CANCELLED, "Linking was cancelled.")
            client.link_provider(name, self._open_browser(client, flow), PROVIDER_TIMEOUT)
            methods = _sign_in_methods(client)
        except ClientTimeout as exc:
            self._fail_waiting("link_provider", flow, exc)
            return
        except (ServerError, NotConnectedError) as exc:
            self._fail("link_provider", exc)
            return
        self.sign_in_methods.emit(methods)

    @pyqtSlot(str)
    def unlink_provider(self, name: str) -> None:
        client = self.client
        if client is None:
            self.request_failed.emit("unlink_provider", ErrorCode.NOT_LOGGED_IN, "Log in first.")
            return
        try:
            client.unlink_provider(name)
            methods = _sign_in_methods(client)
        except (ServerError, NotConnectedError, ClientTimeout) as exc:
            self._fail("unlink_provider", exc)
            return
        self.sign_in_methods.emit(methods)

    @pyqtSlot(object, object, bool)
    def create_room(self, title: str | None, password: str | None, persistent: bool) -> None:
        self._call("create_room", self.room_entered, title, password, persistent)

    @pyqtSlot(str, object)
    def join_room(self, room_id: str, password: str | None) -> None:
        self._call("join_room", self.room_entered, room_id, password)

    @pyqtSlot()
    def leave_room(self) -> None:
        self._fail_outbox("You left the room before it could be sent.")
        if self._call("leave_room", None):
            self.room_left.emit()

    @pyqtSlot()
    def list_rooms(self) -> None:
        self._list_rooms_page(None, self.rooms_listed)

    @pyqtSlot(str)
    def more_rooms(self, cursor: str) -> None:
        self._list_rooms_page(cursor, self.more_rooms_listed)

    def _list_rooms_page(self, cursor: str | None, done: Any) -> None:
        client = self.client
        if client is None:
            self.request_failed.emit("list_rooms", ErrorCode.NOT_LOGGED_IN, "Log in first.")
            return
        try:
            page = client.list_rooms_page(cursor)
        except (ServerError, NotConnectedError, ClientTimeout) as exc:
            self._fail("list_rooms", exc)
            return
        done.emit(page["rooms"], page.get("next_cursor"))

    @pyqtSlot(object, object, object)
    def update_profile(self, display_name: str | None, signature: str | None, avatar: bytes | None) -> None:
        self._call("update_profile", self.profile_updated, display_name, signature, avatar)

    @pyqtSlot(str, str)
    def send_chat(self, local_id: str, text: str) -> None:
        """Send a chat line; while reconnecting it waits in the outbox, and goes once the room is back.

        The line itself comes back as a `chat` push, like everyone else's;
        `chat_sent` or `chat_failed` says what became of this attempt.
        """
        client = self.client
        if client is None:
            self.chat_failed.emit(local_id, "Not connected to the server.")
            return
        try:
            client.chat(text)
        except (NotConnectedError, ClientTimeout):
            self._outbox[local_id] = text
            return
        except ServerError as exc:
            self.chat_failed.emit(local_id, exc.message)
            return
        self.chat_sent.emit(local_id)

    @pyqtSlot(object)
    def set_media_state(self, state: dict[str, bool]) -> None:
        """What we send (microphone, camera, screen), for everyone's tiles; remembered across reconnects."""
        client = self.client
        if client is None:
            return
        try:
            client.set_media_state(**state)
        except (NotConnectedError, ClientTimeout, ServerError) as exc:
            # The client said it is remembered: it goes again with the next login.
            log.info("media state not sent now: %s", exc)

    @pyqtSlot(int, str)
    def fetch_avatar(self, user_id: int, avatar_hash: str) -> None:
        """A member's avatar picture, for tiles and chat; asked once per hash by the GUI."""
        client = self.client
        if client is None:
            return
        try:
            image = client.get_avatar(user_id)
        except (NotConnectedError, ClientTimeout, ServerError) as exc:
            log.info("avatar of user %d not fetched: %s", user_id, exc)
            return
        self.avatar_fetched.emit(user_id, image, avatar_hash)

    @pyqtSlot(str)
    def _on_state(self, state: str) -> None:
        if state == "rejoined":
            self._flush_outbox()
        elif state == "disconnected":
            self._fail_outbox("The connection to the server was lost.")

    def _flush_outbox(self) -> None:
        for local_id, text in list(self._outbox.items()):
            del self._outbox[local_id]
            self.send_chat(local_id, text)

    @pyqtSlot(str)
    def _fail_outbox(self, why: str) -> None:
        outbox, self._outbox = self._outbox, {}
        for local_id in outbox:
            self.chat_failed.emit(local_id, why)

    @pyqtSlot(int, int)
    def request_keyframe(self, user_id: int, source: int) -> None:
        """For the receive worker: asked here, so that a slow reply never stalls decoding."""
        client = self.client
        if client is None:
            return
        try:
            client.request_keyframe(user_id, MediaSource(source))
        except (ServerError, NotConnectedError, ClientTimeout) as exc:
            # Nothing the user asked for failed: the receiver asks again while it waits.
            log.info("key frame request to user %d failed: %s", user_id, exc)

    @pyqtSlot()
    def logout(self) -> None:
        # The server answers with a `session_ended` push ("logged_out"), re-emitted below.
        self._call("logout", None)

    def _connected_client(self, host: str, port: int) -> MeetingClient:
        """The client for host:port, connected; a client for another server, or a dead one, is replaced."""
        client = self.client
        if client is not None and (client.host, client.port) == (host, port) and client.connected:
            return client
        self.close()
        client = MeetingClient(host, port, client_name=self.client_name, request_timeout=self.connect_timeout,
                               trust=self.make_trust())
        client.on_push = self._on_push
        client.on_state = self.state_changed.emit
        client.on_reconnect_attempt = self.reconnect_attempt.emit
        try:
            client.connect()
        except (UntrustedServerError, ServerKeyChangedError):
            client.close()
            raise
        except (ClientTimeout, NotConnectedError, OSError):
            client.close()
            raise NotConnectedError(f"Cannot reach the server at {host}:{port}") from None
        # Short for the first dial (a login screen should not hang), the usual for requests.
        client.request_timeout = self.request_timeout
        self.client = client
        return client

    def _call(self, request: str, done: Any, *args: Any) -> bool:
        """Run one client request; emit `done` with its result, or `request_failed`."""
        client = self.client
        if client is None:
            self.request_failed.emit(request, ErrorCode.NOT_LOGGED_IN, "Log in first.")
            return False
        try:
            result = getattr(client, request)(*args)
        except (ServerError, NotConnectedError, ClientTimeout) as exc:
            self._fail(request, exc)
            return False
        if done is not None:
            done.emit(result)
        return True

    def _fail(self, request: str, exc: Exception) -> None:
        """Tell the GUI in words a person understands; the technical detail goes to the log."""
        if isinstance(exc, ServerError):
            self.request_failed.emit(request, exc.code, exc.message)
            return
        log.info("%s failed: %r", request, exc)
        if isinstance(exc, ServerKeyChangedError):
            self.request_failed.emit(request, SERVER_KEY_CHANGED, str(exc))
            return
        if isinstance(exc, UntrustedServerError):
            self.request_failed.emit(request, SERVER_NOT_TRUSTED,
                                     f"Not connected: the key of {exc.host}:{exc.port} was not trusted.")
            return
        if isinstance(exc, ClientTimeout):
            message = "The server did not answer in time. Try again."
        elif str(exc).startswith("Cannot reach"):
            message = str(exc)  # said in plain words where the address is known
        else:
            message = "The connection to the server is down; it is being restored. Try again in a moment."
        self.request_failed.emit(request, UNREACHABLE, message)

    @pyqtSlot()
    def _emit_stats(self) -> None:
        client = self.client
        if client is None or client.rtt is None:
            return
        self.stats.emit({"rtt_ms": client.rtt * 1000, "clock_offset_ms": client.clock_offset * 1000})

    # -- pushes (on the client's network thread) --------------------------------

    def _on_push(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "members":
            self.members_changed.emit(message.get("members", []))
        elif kind == "chat":
            self.chat_received.emit(message)
        elif kind == "keyframe_request":
            source = MediaSource.SCREEN if message.get("source") == "screen" else MediaSource.CAMERA
            self.keyframe_requested.emit(int(source))
        elif kind == "session_ended":
            self.session_ended.emit(str(message.get("reason", "")), str(message.get("message", "")))
        elif kind == "reconnect_failed":
            # Back on line but the login was refused (password changed meanwhile), or the server's
            # key is not the pinned one any more: start over.
            error = message.get("error", {})
            reason = "server_key_changed" if error.get("code") == SERVER_KEY_CHANGED else "reconnect_failed"
            self.session_ended.emit(reason, str(error.get("message", "")))
        elif kind == "rejoin_failed":
            error = message.get("error", {})
            self._outbox_lost.emit("You are no longer in the room.")
            self.room_left.emit()
            self.request_failed.emit("join_room", str(error.get("code", "")), str(error.get("message", "")))
        elif kind == "server_shutdown":
            log.info("server shutting down: %s", message.get("message"))


def _sign_in_methods(client: MeetingClient) -> dict[str, Any]:
    """What the lobby's Sign-in methods panel shows, from one's own profile."""
    profile = client.get_profile()
    return {"linked_providers": profile["linked_providers"], "has_password": profile["has_password"]}
