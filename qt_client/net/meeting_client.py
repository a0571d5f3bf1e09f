"""A participant's session with the meeting server, as blocking calls plus callbacks.

Used by the tests, the headless bot and the desktop client, so it knows
nothing of Qt: the desktop client forwards the callbacks to its own thread.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from protocol import PROTOCOL_VERSION
from protocol.media import Codec, MediaHeader, MediaSource, StreamKind
from protocol.messages import MEDIA_STATE_DEFAULTS
from qt_client.net.avatar import decode_avatar, encode_avatar
from qt_client.net.clock_offset import ClockOffsetEstimator
from qt_client.net.errors import (
    ClientTimeout,
    NotConnectedError,
    ServerError,
    ServerKeyChangedError,
    UntrustedServerError,
)
from qt_client.net.frame_connection import MAX_AUDIO_PAYLOAD, MAX_MEDIA_PAYLOAD, FrameConnection
from qt_client.net.heartbeat import Heartbeat
from qt_client.net.pending_requests import ResultHook
from qt_client.net.reconnect_policy import ReconnectPolicy
from qt_client.net.server_trust import KeyMismatch, ServerTrust, probe_key
from reactor.event_loop import EventLoop
from reactor.event_loop_thread import EventLoopThread
from reactor.tcp_client import TcpClient
from reactor.timer import Timer

log = logging.getLogger(__name__)

# Session ends after which coming back on our own would be wrong: someone else
# now holds the account, or the user asked to leave.
NO_RECONNECT_REASONS = frozenset({"logged_in_elsewhere", "logged_out"})

MediaItem = tuple[MediaHeader, memoryview]


def _ignore(*_args: Any) -> None:
    pass


class MeetingClient:
    """One participant: control, audio and video connections on one network thread.

    The blocking methods wait up to `request_timeout` for their reply, raise
    ServerError on an error reply, NotConnectedError when the connection is
    down and ClientTimeout when the server does not answer; call them from any
    thread but the network thread.

    The callbacks `on_push(message)`, `on_media(header, payload)` and
    `on_state(state)` run on the client's network thread: keep them short and
    hand work to your own thread (a Qt signal, a queue). States: "connected"
    (hello done, not necessarily logged in), "reconnecting", "reconnected"
    (logged in again), "rejoined" (back in the room), "disconnected".

    With `reconnect`, a control connection that drops (the server restarted,
    the network blinked, or nothing came from the server for two heartbeat
    intervals) is dialled again as `reconnect_policy` says (a ReconnectPolicy:
    jittered waits of at most 1 s in an outage's first 10 s, 2 s until its
    first minute ends, 10 s after; short again
    after a `server_shutdown` push), and the login and the room are restored;
    a room that is gone is reported as a
    `{"type": "rejoin_failed", "room_id": ..., "error": ...}` push, a refused
    login as `{"type": "reconnect_failed", "error": ...}`. A session ended by
    a login elsewhere (`ended_reason`) is never resumed. While reconnecting,
    `on_reconnect_attempt(n)` (network thread) and `reconnect_attempt` number
    the attempts, for a "Reconnecting (attempt n)" line.

    All three connections speak TLS, trusted as `trust` (a ServerTrust) says:
    by default the system's CAs only. `connect` raises UntrustedServerError
    for a server no CA vouches for whose key the trust did not accept, and
    ServerKeyChangedError for a key other than the pinned one; a key that
    changes during a reconnect ends the session with a
    `{"type": "reconnect_failed", "error": {"code": "SERVER_KEY_CHANGED", ...}}`
    push and `trust_error` set. Neither is ever retried.
    """

    def __init__(self, host: str, port: int, *, client_name: str = "mini-meeting", reconnect: bool = True,
                 request_timeout: float = 10.0, reconnect_policy: ReconnectPolicy | None = None,
                 trust: ServerTrust | None = None) -> None:
        self.host = host
        self.port = port
        self.trust = trust if trust is not None else ServerTrust()
        # Why the server was refused (UntrustedServerError, ServerKeyChangedError), once it was.
        self.trust_error: ConnectionError | None = None
        self.client_name = client_name
        self.reconnect = reconnect
        self.request_timeout = request_timeout

        self.on_push: Callable[[dict[str, Any]], None] = _ignore
        self.on_media: Callable[[MediaHeader, memoryview], None] = _ignore
        self.on_state: Callable[[str], None] = _ignore
        self.on_reconnect_attempt: Callable[[int], None] = _ignore
        # Why the server ended our session (a `session_ended` reason), until the next login.
        self.ended_reason: str | None = None

        self._thread = EventLoopThread(f"meeting-client:{port}")
        self._loop: EventLoop | None = None
        self._control: FrameConnection | None = None
        self._media: dict[StreamKind, FrameConnection] = {}  # open or opening
        # The media connections whose media_hello the server accepted: only these carry frames (the
        # server closes a media connection that sends a frame before that).
        self._sendable: dict[StreamKind, FrameConnection] = {}
        # Session state: written on the network thread (replies, pushes), read anywhere.
        self._lock = threading.Lock()
        self._state = "new"
        # How to log in again after a drop: ("login", {username, password}), or after a login
        # through a provider ("resume_login", {token}).
        self._credentials: tuple[str, dict[str, str]] | None = None
        # Logins through a provider awaiting their outcome (a `provider_login` push), by ticket.
        self._provider_logins: dict[str, concurrent.futures.Future] = {}
        self._user: dict[str, Any] | None = None
        self._room: dict[str, Any] | None = None
        self._room_password: str | None = None
        self._members: list[dict[str, Any]] = []
        # What we said we send (set_media_state), said again after every login.
        self._media_state: dict[str, bool] = {}
        self._clock = ClockOffsetEstimator()
        self._heartbeat: Heartbeat | None = None  # made with the loop, in connect()
        self._resume_wanted = False  # set when the control connection drops, on the network thread
        # Network thread only (resets from elsewhere are posted there).
        self._reconnect_policy = reconnect_policy if reconnect_policy is not None else ReconnectPolicy()
        self._closing = False
        # itertools.count's next() is atomic under the GIL: audio and video threads may send at once.
        self._sequences = {(stream, source): itertools.count()
                           for stream in StreamKind for source in MediaSource}
        self._push_queues: list[queue.SimpleQueue] = []
        self._media_queues: list[queue.Queue] = []
        # Restoring a session blocks on replies, so it runs here rather than on the network thread.
        self._resumer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="meeting-client-resume")

    # -- what the session knows (any thread) --------------------------------

    @property
    def connected(self) -> bool:
        return self._control is not None and self._control.connected

    @property
    def state(self) -> str:
        return self._state

    @property
    def reconnect_attempt(self) -> int:
        """The attempt to reach the server being waited for or made (1, 2, ...); 0 when connected."""
        return self._reconnect_policy.attempt

    @property
    def user_id(self) -> int | None:
        user = self._user
        return user["user_id"] if user is not None else None

    @property
    def username(self) -> str | None:
        user = self._user
        return user["username"] if user is not None else None

    @property
    def room(self) -> dict[str, Any] | None:
        return self._room

    @property
    def members(self) -> list[dict[str, Any]]:
        return self._members

    @property
    def media_state(self) -> dict[str, bool]:
        """What set_media_state was last told (only the fields ever given)."""
        with self._lock:
            return dict(self._media_state)

    @property
    def clock_offset(self) -> float:
        """Seconds to add to our clock to read the server's (0 until measured)."""
        with self._lock:
            return self._clock.offset

    @property
    def rtt(self) -> float | None:
        with self._lock:
            return self._clock.rtt

    def server_clock_us(self) -> int:
        """Now on the server's clock, as estimated: what capture times are stamped with,
        so that any receiver can tell a frame's age without trusting the sender's clock."""
        return int((time.time() + self.clock_offset) * 1e6)

    def server_time_to_local(self, server_time: float) -> float:
        with self._lock:
            return self._clock.server_time_to_local(server_time)

    def local_to_server(self, local_time: float) -> float:
        with self._lock:
            return self._clock.local_to_server(local_time)

    def push_queue(self) -> queue.SimpleQueue:
        """A queue that receives every push from now on, for callers that prefer polling to callbacks."""
        pushes: queue.SimpleQueue = queue.SimpleQueue()
        self._push_queues.append(pushes)
        return pushes

    def media_queue(self, maxsize: int = 256) -> queue.Queue:
        """A queue of (header, payload) for every media frame from now on; full means frames are dropped."""
        frames: queue.Queue = queue.Queue(maxsize)
        self._media_queues.append(frames)
        return frames

    # -- connection and account ---------------------------------------------

    def connect(self) -> dict[str, Any]:
        """Open the control connection and say hello; returns the server's hello result."""
        if self._closing:
            raise NotConnectedError("the client is closed")
        if self.connected:
            raise RuntimeError("already connected")
        if self._control is None:
            self._loop = self._thread.start_loop()
            self._heartbeat = Heartbeat(self._loop, self._send_heartbeat, last_heard=self._control_last_heard,
                                        on_silence=self._on_server_silent)
            control = FrameConnection(self._loop, (self.host, self.port), "control",
                                      next_delay=self._next_reconnect_delay if self.reconnect else None,
                                      tls_setup=partial(self._configure_tls, control=True))
            control.on_refused = self._on_control_refused
            control.on_up = self._on_control_up
            control.on_down = self._on_control_down
            control.on_push = self._on_control_push
            self._control = control
        self.ended_reason = None
        assert self._loop is not None
        self.trust_error = None
        self._dial_control()
        result = self._hello()
        self._server_answers()
        self._set_state("connected")
        return result

    def _dial_control(self) -> None:
        """Bring the control connection up, asking the trust about a server no CA vouches for (once)."""
        assert self._control is not None and self._loop is not None
        for asked in (False, True):
            self._loop.run_in_loop(self._reconnect_policy.reset)  # queued ahead of the dial
            self._control.start()
            if self._control.wait_up(self.request_timeout):
                return
            self._control.stop_retrying()
            error = self._control.tls_error
            if isinstance(error, ssl.SSLCertVerificationError) and not asked:
                # Self-signed (or for another name): learn its key, off the network thread, and ask.
                fingerprint = probe_key(self.host, self.port, self.request_timeout)
                reason = error.verify_message or str(error)
                if self.trust.accept_new_key(self.host, self.port, fingerprint, reason):
                    self._control.wait_closed(self.request_timeout)
                    continue
                raise self._refusal(UntrustedServerError(self.host, self.port, fingerprint, reason))
            if isinstance(error, KeyMismatch):
                raise self._refusal(ServerKeyChangedError(self.host, self.port, error.expected,
                                                          error.presented))
            raise ClientTimeout(f"could not connect to {self.host}:{self.port} within {self.request_timeout}s"
                                + (f" ({error})" if error is not None else ""))

    def _refusal(self, error: ConnectionError) -> ConnectionError:
        self.trust_error = error
        return error

    def _configure_tls(self, client: TcpClient, *, control: bool) -> None:
        self.trust.configure(client, self.host, self.port, control)

    def register(self, username: str, password: str, display_name: str | None = None) -> int:
        """Create an account; returns its user id."""
        fields = {"username": username, "password": password, "display_name": display_name}
        return self._request("register", fields)["user_id"]

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Log in, open the audio and video connections, start heartbeats and measure the clock."""
        result, _joining = self._log_in(("login", {"username": username, "password": password}))
        return result

    def list_providers(self) -> list[dict[str, str]]:
        """The providers one can log in through here: [{"name", "display_name", "kind"}]."""
        return self._request("list_providers")["providers"]

    def login_with_provider(self, provider: str, open_browser: Callable[[str], object],
                            timeout: float = 300.0) -> dict[str, Any]:
        """Log in through a provider: open_browser(url) shows the person the server's start page
        (then the provider's); this waits until they are done there, or `timeout`. Raises
        ServerError (PROVIDER_DENIED, LOGIN_EXPIRED, PROVIDER_UNREACHABLE...) when it fails; then
        everything a session needs, as login() does. The client keeps the login token it is given,
        to log in again by itself after a drop."""
        ticket, url, waiting = self._start_provider_flow("start_external_login", provider)
        open_browser(url)
        result = self._await_provider(ticket, waiting, timeout)
        self._after_login(result, ("resume_login", {"token": result["login_token"]}))
        return result

    def link_provider(self, provider: str, open_browser: Callable[[str], object],
                      timeout: float = 300.0) -> list[str]:
        """Add a provider account as a way into this (logged-in) account; returns the linked providers."""
        ticket, url, waiting = self._start_provider_flow("link_provider", provider)
        open_browser(url)
        return self._await_provider(ticket, waiting, timeout)["linked_providers"]

    def unlink_provider(self, provider: str) -> list[str]:
        """Remove a provider as a way in (never the last one: LAST_LOGIN_METHOD); the rest, by name."""
        return self._request("unlink_provider", {"provider": provider})["linked_providers"]

    def cancel_provider_login(self) -> None:
        """Stop waiting for a login (or link) through a provider (the person closed the dialog); the
        server forgets it, so finishing it in the browser later changes nothing. Any thread."""
        with self._lock:
            waiting, self._provider_logins = self._provider_logins, {}
        control = self._control
        for ticket, future in waiting.items():
            if control is not None and control.connected:
                control.request("cancel_external_login", {"ticket": ticket})  # not waited for
            if not future.done():
                future.set_exception(ServerError("CANCELLED", "The login was cancelled."))

    def _start_provider_flow(self, request_type: str, provider: str
                             ) -> tuple[str, str, concurrent.futures.Future]:
        waiting: concurrent.futures.Future = concurrent.futures.Future()

        def started(result: dict[str, Any]) -> None:
            # On the network thread, before any push that answers it can be read.
            with self._lock:
                self._provider_logins[result["ticket"]] = waiting

        answer = self._request(request_type, {"provider": provider}, on_result=started)
        return answer["ticket"], answer["url"], waiting

    def _await_provider(self, ticket: str, waiting: concurrent.futures.Future, timeout: float
                        ) -> dict[str, Any]:
        try:
            return waiting.result(timeout)
        except concurrent.futures.TimeoutError:
            raise ClientTimeout(f"the login through the provider was not finished within {timeout:.0f} s"
                                ) from None
        finally:
            with self._lock:
                self._provider_logins.pop(ticket, None)

    def _log_in(self, credentials: tuple[str, dict[str, str]], rejoin: tuple[str, str | None] | None = None
                ) -> tuple[dict[str, Any], tuple[int, concurrent.futures.Future] | None]:
        """login (or resume_login), then everything a session needs; with `rejoin` (room id,
        password), the join is asked for at once and its (request id, future) returned, to be
        waited for by the caller."""
        request_type, fields = credentials
        result = self._request(request_type, fields, on_result=self._store_login)
        return result, self._after_login(result, credentials, rejoin)

    def _after_login(self, result: dict[str, Any], credentials: tuple[str, dict[str, str]],
                     rejoin: tuple[str, str | None] | None = None
                     ) -> tuple[int, concurrent.futures.Future] | None:
        """What a session needs once logged in: media connections, heartbeats, the clock.

        After a server restart every client does this at the same moment, and each round trip waits
        behind everyone else's: what need not be waited for (the room's answer, a new clock sample,
        the media state) is sent without waiting, in the order the server must see it.
        """
        with self._lock:
            self._credentials = credentials
            state = dict(self._media_state)
            clock_known = self._clock.has_samples
        control = self._control
        assert control is not None
        if state:
            # A new session starts with the server's defaults: say again what we send (before the
            # join, so that the room never sees a muted member unmuted).
            control.request("set_media_state", state)
        joining = None
        if rejoin is not None:
            room_id, room_password = rejoin
            fields = {"room_id": room_id, **({"password": room_password} if room_password else {})}
            joining = control.request("join_room", fields, partial(self._enter_room, room_password))
        self._open_media(result["token"], {StreamKind.AUDIO: result["audio_port"],
                                           StreamKind.VIDEO: result["video_port"]})
        assert self._heartbeat is not None
        self._heartbeat.start(float(result["heartbeat_interval"]))
        if clock_known:
            sent = time.time()  # one more sample, not waited for: the estimate we have holds meanwhile
            control.request("time_sync", {"client_time": sent}, lambda answer: self._add_clock_sample(
                sent, answer["server_time"], time.time()))
        else:
            self.time_sync()  # the first: media timestamps need it
        return joining

    def logout(self) -> None:
        """End the session; the control connection stays, ready for another login."""
        self._request("logout", on_result=lambda _result: self._forget_session())
        self._close_media()

    def get_profile(self, username: str | None = None) -> dict[str, Any]:
        """A Profile (yours by default); `avatar.decode_avatar` turns its avatar into image bytes.
        Yours also says how you can log in: `linked_providers` (names) and `has_password`."""
        result = self._request("get_profile", {"username": username})
        ways_in = {key: result[key] for key in ("linked_providers", "has_password") if key in result}
        return {**result["user"], **ways_in}

    def update_profile(self, display_name: str | None = None, signature: str | None = None,
                       avatar: bytes | None = None) -> dict[str, Any]:
        """Change the fields given (avatar as image bytes, `b""` to clear it); returns the new Profile."""
        fields = {"display_name": display_name, "signature": signature,
                  "avatar": encode_avatar(avatar) if avatar is not None else None}
        return self._request("update_profile", fields, on_result=self._store_profile)["user"]

    # -- rooms and chat -------------------------------------------------------

    def create_room(self, title: str | None = None, password: str | None = None,
                    persistent: bool = False) -> dict[str, Any]:
        """Create a room and enter it; returns `{room, members, chat}`."""
        fields = {"title": title, "password": password, "persistent": persistent}
        return self._request("create_room", fields, on_result=partial(self._enter_room, password))

    def join_room(self, room_id: str, password: str | None = None) -> dict[str, Any]:
        """Enter a room by id; returns `{room, members, chat}` (chat: a persistent room's recent lines)."""
        return self._request("join_room", {"room_id": room_id, "password": password},
                             on_result=partial(self._enter_room, password))

    def leave_room(self) -> None:
        self._request("leave_room", on_result=lambda _result: self._forget_room())

    def list_rooms(self) -> list[dict[str, Any]]:
        """The first page of persistent rooms (oldest first), each with its current `members` count."""
        return self.list_rooms_page()["rooms"]

    def list_rooms_page(self, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """`{rooms, next_cursor}`: a page of persistent rooms (the server's default size, or `limit`
        up to 100), from the `next_cursor` of the page before; `next_cursor` is None on the last page."""
        return self._request("list_rooms", {"cursor": cursor, "limit": limit})

    def chat(self, text: str) -> float:
        """Say something in the room; returns the server's time stamp of the line."""
        return self._request("chat", {"text": text})["sent_at"]

    def request_keyframe(self, user_id: int, source: MediaSource = MediaSource.CAMERA) -> None:
        """Ask a member for a key frame of their camera or screen share (after joining, or when
        decoding broke); they get a `keyframe_request` push naming the source."""
        self._request("request_keyframe", {"user_id": user_id, "source": source.name.lower()})

    def set_media_state(self, microphone: bool | None = None, camera: bool | None = None,
                        screen: bool | None = None) -> dict[str, bool]:
        """Tell the room what we send (None leaves a field as it is); returns the whole state.

        Remembered and said again after every login, the automatic one after a
        reconnect included; while logged out it is only remembered.
        """
        given = {key: value for key, value in
                 (("microphone", microphone), ("camera", camera), ("screen", screen)) if value is not None}
        with self._lock:
            self._media_state.update(given)
            logged_in = self._user is not None
        if not logged_in:
            return {**MEDIA_STATE_DEFAULTS, **self.media_state}
        return self._request("set_media_state", given)

    def get_avatar(self, user_id: int) -> bytes:
        """The avatar image of a room member (or yours); `b""` when they have none. Member
        entries carry its `avatar` hash: fetch again only when the hash changes."""
        return decode_avatar(self._request("get_avatar", {"user_id": user_id}))

    def time_sync(self) -> float:
        """Measure the clock once more; returns the estimated offset (server minus local, seconds)."""
        sent = time.time()
        result = self._request("time_sync", {"client_time": sent})
        self._add_clock_sample(sent, result["server_time"], time.time())
        return self.clock_offset

    # -- media ---------------------------------------------------------------

    def send_media(self, stream: StreamKind, codec: Codec, payload: bytes, *, keyframe: bool = False,
                   capture_us: int | None = None, source: MediaSource = MediaSource.CAMERA) -> int:
        """Send one encoded frame to the room; returns its sequence number (per stream and source).

        The payload is written gathered behind the header, never copied, when
        it is `bytes` (other buffers are copied when sent off the network thread).
        NotConnectedError until the server has accepted the stream's media
        connection (after login, and again after each reconnect).
        """
        limit = MAX_AUDIO_PAYLOAD if stream is StreamKind.AUDIO else MAX_MEDIA_PAYLOAD
        if len(payload) > limit:
            raise ValueError(f"a {stream.name.lower()} payload of {len(payload)} bytes is over the "
                             f"{limit}-byte limit")
        conn = self._sendable.get(stream)
        user_id = self.user_id
        if conn is None or user_id is None:
            raise NotConnectedError(f"no {stream.name.lower()} connection: log in first")
        # Taken only for a frame that goes out: a gap would look like a loss to the receivers.
        sequence = next(self._sequences[stream, source]) & 0xFFFFFFFF
        if capture_us is None:
            capture_us = self.server_clock_us()
        conn.send_media(MediaHeader(stream, user_id, sequence, capture_us, codec, keyframe, source), payload)
        return sequence

    def run_every(self, interval: float, callback: Callable[[], None]) -> Timer:
        """Call back every `interval` seconds on the network thread.

        For senders with no heavy work per frame (pre-encoded load): sending
        from the network thread writes straight to the socket, with no
        hand-off between threads per frame.
        """
        if self._loop is None:
            raise NotConnectedError("connect first")
        return self._loop.run_every(interval, callback)

    def cancel_timer(self, timer: Timer) -> None:
        if self._loop is not None:
            self._loop.cancel(timer)

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Drop all connections (the server ends the session) and stop the network thread."""
        if self._closing:
            return
        self._check_not_network_thread("close")
        with self._lock:
            # Under the lock: _open_media either sees this or has published its connections.
            self._closing = True
            connections = [c for c in (self._control, *self._media.values()) if c is not None]
        for conn in connections:
            conn.close()
        # With the connections closed, a session being restored fails at once: wait for it,
        # so that nothing posts to the loop after it is gone.
        self._resumer.shutdown(wait=True, cancel_futures=True)
        for conn in connections:
            if not conn.wait_closed(2.0):
                log.warning("%s did not close within 2 s", conn.name)
        loop = self._loop
        if loop is None:
            return
        self._stop_heartbeat()
        self._set_state("disconnected")
        self._thread.stop()
        self._loop = None

    def __enter__(self) -> MeetingClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- requests -------------------------------------------------------------

    def _request(self, request_type: str, fields: dict[str, Any] | None = None, *,
                 on_result: ResultHook | None = None) -> dict[str, Any]:
        """Send a control request and wait for its result; fields that are None are left out."""
        self._check_not_network_thread(request_type)
        control = self._control
        if self._closing:
            raise NotConnectedError("the client is closed")
        if control is None:
            raise NotConnectedError("not connected: call connect() first")
        present = {key: value for key, value in (fields or {}).items() if value is not None}
        request_id, future = control.request(request_type, present, on_result)
        return self._wait(control, request_type, request_id, future)

    def _wait(self, connection: FrameConnection, request_type: str, request_id: int,
              future: concurrent.futures.Future) -> dict[str, Any]:
        try:
            return future.result(self.request_timeout)
        except concurrent.futures.TimeoutError:
            connection.forget(request_id)
            raise ClientTimeout(f"no reply to {request_type} within {self.request_timeout}s") from None

    def _check_not_network_thread(self, what: str) -> None:
        # Waiting on the network thread for a reply that thread must read would hang for ever.
        loop = self._loop
        if loop is not None and loop.is_in_loop_thread():
            raise RuntimeError(f"{what}() blocks: call it from your own thread, not from a client callback")

    def _hello(self) -> dict[str, Any]:
        return self._request("hello", {"version": PROTOCOL_VERSION, "client": self.client_name})

    def _open_media(self, token: str, ports: dict[StreamKind, int]) -> None:
        """Open the audio and video connections and prove each with the session token."""
        assert self._loop is not None
        connections = {}
        for stream, port in ports.items():
            conn = FrameConnection(self._loop, (self.host, port), stream.name.lower(),
                                   tls_setup=partial(self._configure_tls, control=False))
            conn.on_media = self._on_media_frame
            conn.on_down = partial(self._on_media_down, stream, conn)
            connections[stream] = conn
        with self._lock:
            if self._closing:
                raise NotConnectedError("the client is closed")
            old, self._media, self._sendable = self._media, connections, {}
        for conn in old.values():
            conn.close()
        try:
            for conn in connections.values():
                conn.start()
            for conn in connections.values():
                if not conn.wait_up(self.request_timeout):
                    if isinstance(conn.tls_error, KeyMismatch):
                        raise self._refusal(ServerKeyChangedError(self.host, port, conn.tls_error.expected,
                                                                  conn.tls_error.presented))
                    if conn.tls_error is not None:
                        raise NotConnectedError(f"the {conn.name} connection failed: {conn.tls_error}")
                    raise ClientTimeout(f"could not open the {conn.name} connection "
                                        f"within {self.request_timeout}s")
            # Both hellos in flight at once: one round trip, not two.
            waiting = [(conn, *conn.request("media_hello", {"token": token, "stream": conn.name}))
                       for conn in connections.values()]
            for conn, request_id, future in waiting:
                self._wait(conn, "media_hello", request_id, future)
        except BaseException:
            # Half a session: no connection may be left dialling or open.
            self._close_media()
            raise
        with self._lock:
            if self._media is connections:  # not closed or replaced meanwhile
                self._sendable = connections

    def _close_media(self) -> None:
        with self._lock:
            media, self._media, self._sendable = self._media, {}, {}
        for conn in media.values():
            conn.close()

    # -- session state (network thread, from replies and pushes) ----------------

    def _store_login(self, result: dict[str, Any]) -> None:
        with self._lock:
            self._user = result["user"]
            self.ended_reason = None

    def _store_profile(self, result: dict[str, Any]) -> None:
        with self._lock:
            if self._user is not None and result["user"].get("user_id") == self._user["user_id"]:
                self._user = result["user"]

    def _enter_room(self, password: str | None, result: dict[str, Any]) -> None:
        with self._lock:
            self._room = result["room"]
            self._members = result["members"]
            self._room_password = password

    def _forget_room(self) -> None:
        with self._lock:
            self._room = None
            self._room_password = None
            self._members = []

    def _forget_session(self) -> None:
        """Nothing left to restore: the account and the room are forgotten."""
        self._forget_room()
        with self._lock:
            self._credentials = None
            self._user = None
        self._stop_heartbeat()

    def _add_clock_sample(self, sent: float, server_time: float, received: float) -> None:
        with self._lock:
            try:
                self._clock.add_sample(sent, server_time, received)
            except ValueError as exc:
                # Our wall clock stepped back mid-exchange: the sample means nothing.
                log.info("clock sample skipped: %s", exc)

    # -- heartbeat ------------------------------------------------------------------

    def _stop_heartbeat(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()

    def _control_last_heard(self) -> float:
        control = self._control
        return control.last_received if control is not None else time.monotonic()

    def _on_server_silent(self, silent_for: float) -> None:
        """Heartbeats unanswered: the server hangs, or the connection is half-open. Drop it and dial again."""
        log.warning("nothing from the server for %.1f s; dropping the control connection", silent_for)
        if self._control is not None:
            self._control.reset()

    def _send_heartbeat(self) -> None:
        """On the network thread, every `heartbeat_interval` while logged in."""
        if self._control is None:
            return
        sent = time.time()
        # Each heartbeat is a free clock sample: the estimate keeps up with drift.
        self._control.request("heartbeat", on_result=lambda result: self._add_clock_sample(
            sent, result["server_time"], time.time()))

    # -- events (network thread) ------------------------------------------------

    def _on_control_push(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "members":
            with self._lock:
                if self._room is not None and message.get("room_id") == self._room["room_id"]:
                    self._members = message.get("members", [])
        elif kind == "session_ended":
            reason = message.get("reason")
            self.ended_reason = reason
            self._stop_heartbeat()
            if reason in NO_RECONNECT_REASONS:
                self._forget_session()
                self._close_media()
        elif kind == "provider_login":
            self._provider_outcome(message)
        elif kind == "server_shutdown":
            # Back in moments, most likely: the first attempts must not wait out an earlier outage's back-off.
            log.info("the server is restarting: %s", message.get("message"))
            self._reconnect_policy.reset()
        self._deliver_push(message)

    def _provider_outcome(self, message: dict[str, Any]) -> None:
        """A login (or link) through a provider ended: wake whoever waits for it."""
        with self._lock:
            waiting = self._provider_logins.pop(str(message.get("ticket")), None)
        if waiting is None or waiting.done():
            return  # cancelled, or timed out meanwhile
        result = message.get("result")
        if isinstance(result, dict):
            if message.get("purpose") == "login":
                self._store_login(result)
            waiting.set_result(result)
        else:
            waiting.set_exception(ServerError.from_reply(message.get("error"), "provider_login"))

    def _on_media_frame(self, header: MediaHeader, payload: memoryview) -> None:
        self._call_user(self.on_media, header, payload)
        for frames in self._media_queues:
            try:
                frames.put_nowait((header, payload))
            except queue.Full:
                pass  # the reader fell behind: losing frames beats growing without bound

    def _on_media_down(self, stream: StreamKind, conn: FrameConnection) -> None:
        if not self._closing and self._media.get(stream) is conn and self.connected:
            # The server closes a media connection alone only for a protocol breach (or a
            # session that is ending, whose control connection follows): no retry here.
            log.warning("%s connection closed by the server", stream.name.lower())

    def _on_control_up(self) -> None:
        if self._resume_wanted and not self._closing:
            self._resume_wanted = False
            self._resumer.submit(self._resume)

    def _on_control_refused(self, error: Exception) -> None:
        """A redial (reconnecting) refused for trust: the server's key changed. Never dialled again."""
        if not self._resume_wanted or self._closing:
            return  # connect() is waiting and raises the error itself
        self._resume_wanted = False
        if isinstance(error, KeyMismatch):
            refusal: ConnectionError = ServerKeyChangedError(self.host, self.port, error.expected,
                                                             error.presented)
            code = "SERVER_KEY_CHANGED"
        else:
            refusal = ConnectionError(f"{self.host}:{self.port}: certificate no longer trusted ({error})")
            code = "SERVER_NOT_TRUSTED"
        self.trust_error = refusal
        self._deliver_synthetic({"type": "reconnect_failed",
                                 "error": {"code": code, "message": str(refusal)}})
        self._set_state("disconnected")

    def _on_control_down(self) -> None:
        self._stop_heartbeat()
        self._close_media()
        if self._closing:
            return
        if self.reconnect and self.ended_reason not in NO_RECONNECT_REASONS:
            self._resume_wanted = True
            self._set_state("reconnecting")
        else:
            assert self._control is not None
            self._control.stop_retrying()
            self._set_state("disconnected")

    # -- reconnecting ------------------------------------------------------------------

    def _next_reconnect_delay(self) -> float:
        """On the network thread, before each dial after a drop or a failed dial: the policy's wait."""
        delay = self._reconnect_policy.next_delay()
        if self._resume_wanted:  # not while connect() dials for the first time
            attempt = self._reconnect_policy.attempt
            log.info("reconnect attempt %d in %.2f s", attempt, delay)
            self._call_user(self.on_reconnect_attempt, attempt)
        return delay

    def _server_answers(self) -> None:
        """Hello answered: the back-off is over, and a later drop starts with short waits again."""
        loop = self._loop
        if loop is not None:
            loop.run_in_loop(self._reconnect_policy.reset)

    def _resume(self) -> None:
        """On the resumer thread, after the control connection is back: hello, login, and the room."""
        try:
            self._hello()
            self._server_answers()
            with self._lock:
                credentials, room, password = self._credentials, self._room, self._room_password
            if credentials is None:
                self._set_state("connected")
                return
            try:
                _result, joining = self._log_in(credentials,
                                                rejoin=(room["room_id"], password) if room else None)
            except ServerError as exc:
                # Connected but logged out: the application shows its login screen.
                self._forget_session()
                self._deliver_synthetic({"type": "reconnect_failed", "error": exc.to_json()})
                self._set_state("connected")
                return
            self._set_state("reconnected")
            if room is not None and joining is not None:
                self._rejoined(room["room_id"], joining)
        except (NotConnectedError, ClientTimeout) as exc:
            log.info("restoring the session failed (%s); trying again on the next connection", exc)
            if self._control is not None and self._control.connected and not self._closing:
                # Up but not answering: drop it; the drop asks for another resume after the back-off.
                self._control.reset()
        except Exception:
            log.exception("restoring the session failed")

    def _rejoined(self, room_id: str, joining: tuple[int, concurrent.futures.Future]) -> None:
        """Wait for the join asked for with the login: back in the room, or a `rejoin_failed` push."""
        control = self._control
        assert control is not None
        try:
            self._wait(control, "join_room", *joining)
        except ServerError as exc:
            self._forget_room()
            self._deliver_synthetic({"type": "rejoin_failed", "room_id": room_id, "error": exc.to_json()})
            return
        self._set_state("rejoined")

    # -- delivering to the user ---------------------------------------------------

    def _set_state(self, state: str) -> None:
        loop = self._loop
        if loop is None:
            return  # closed: the final "disconnected" has been delivered

        def deliver() -> None:
            self._state = state
            self._call_user(self.on_state, state)

        loop.run_in_loop(deliver)

    def _deliver_synthetic(self, message: dict[str, Any]) -> None:
        loop = self._loop
        if loop is not None:
            loop.run_in_loop(partial(self._deliver_push, message))

    def _deliver_push(self, message: dict[str, Any]) -> None:
        self._call_user(self.on_push, message)
        for pushes in self._push_queues:
            pushes.put(message)

    @staticmethod
    def _call_user(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            # A bug in the application's callback must not stop the client's network thread.
            log.exception("client callback %r failed", callback)

