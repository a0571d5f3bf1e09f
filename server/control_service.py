"""The control plane: requests, sessions and rooms, all on one control loop.

Control messages arrive on the I/O loops and are posted here, so sessions
and rooms need no locks. Database work and password hashing go to the
DbWorkerPool, whose answers come back to this loop. Media never passes
through here: this loop only publishes who receives what (RelayRoute).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from protocol import PROTOCOL_VERSION
from protocol.errors import ErrorCode, ProtocolError
from protocol.framing import split_frame
from protocol.media import StreamKind
from protocol.messages import decode_request, encode_message, error_reply, reply
from reactor.event_loop import EventLoop
from reactor.tcp_connection import TcpConnection
from server.account_requests import AccountRequests
from server.config import ServerConfig
from server.control_link import ControlLink
from server.db_worker_pool import DbWorkerPool, PoolBusy, without_storage
from server.guess_limits import GuessLimits, address_key
from server.loop_stats import LoopStats
from server.media_peer import MediaPeer
from server.oauth.provider import Provider
from server.oauth.provider_logins import ProviderLogins
from server.room import Room
from server.room_requests import RoomRequests
from server.session import ControlClient, Session
from server.storage.errors import NameTakenError, StorageError, StorageUnavailable

log = logging.getLogger(__name__)

SERVER_NAME = "mini-meeting"
# After telling a client why it is being disconnected, how long its
# connection may linger before it is closed regardless.
GOODBYE_GRACE = 2.0

_ENDED_MESSAGES = {
    "logged_in_elsewhere": "You logged in somewhere else, so this session has ended.",
    "heartbeat_timeout": "The server heard nothing from this client for too long.",
    "too_slow": "Your connection could not keep up with the meeting, so it was closed; "
                "check your network and join again.",
}


class ControlService:
    """Owns every ControlClient, Session and Room; runs on the control loop only."""

    def __init__(self, loop: EventLoop, config: ServerConfig, db: DbWorkerPool,
                 stats_by_loop: dict[EventLoop, LoopStats], hashing: DbWorkerPool) -> None:
        self.loop = loop
        self.config = config
        self.db = db
        # Password hashing queues apart from the database: a burst of logins never delays a write.
        self.hashing = hashing
        self.stats_by_loop = stats_by_loop
        self.media_ports = {"audio_port": 0, "video_port": 0}
        self.clients: dict[TcpConnection, ControlClient] = {}
        self.unauthenticated_media: dict[TcpConnection, float] = {}
        self.sessions_by_token: dict[str, Session] = {}
        self.sessions_by_user: dict[int, Session] = {}
        self.rooms: dict[str, Room] = {}
        # Set once the server begins to stop: rooms emptied by the stop are kept for the restart.
        self.stopping = False
        # Password, room password and room id guesses, counted before they are checked.
        self.guesses = GuessLimits(config.rate_limits, config.rate_limit_storage)
        self.accounts = AccountRequests(self)
        self.room_requests = RoomRequests(self)
        self._handlers: dict[str, Callable[[ControlClient, int, dict[str, Any]], None]] = {
            "hello": self._hello,
            "heartbeat": self._heartbeat,
            "time_sync": self._time_sync,
            "register": self.accounts.register,
            "login": self.accounts.login,
            "logout": self.accounts.logout,
            "get_profile": self.accounts.get_profile,
            "update_profile": self.accounts.update_profile,
            "create_room": self.room_requests.create_room,
            "join_room": self.room_requests.join_room,
            "leave_room": self.room_requests.leave_room,
            "list_rooms": self.room_requests.list_rooms,
            "chat": self.room_requests.chat,
            "request_keyframe": self.room_requests.request_keyframe,
            "set_media_state": self.room_requests.set_media_state,
            "get_avatar": self.accounts.get_avatar,
        }
        self._needs_session = {"logout", "get_profile", "update_profile", "get_avatar", "create_room",
                               "join_room", "leave_room", "list_rooms", "chat", "request_keyframe",
                               "set_media_state", "link_provider", "unlink_provider"}
        # Where people's browsers reach our HTTP endpoint (set by MeetingServer once it listens).
        self.public_url = ""
        # No providers until MeetingServer gives some (enable_providers): UNKNOWN_PROVIDER.
        self.provider_logins = ProviderLogins(self, {}, None)
        logins = self.provider_logins
        self._handlers.update({
            "list_providers": logins.list_providers,
            "start_external_login": logins.start_login,
            "resume_login": logins.resume_login,
            "link_provider": logins.start_link,
            "unlink_provider": logins.unlink,
            "cancel_external_login": logins.cancel,
        })

    def enable_providers(self, providers: dict[str, Provider], calls: DbWorkerPool) -> None:
        """Serve logins through these providers, calling them on `calls`' workers."""
        self.provider_logins.providers = providers
        self.provider_logins.calls = calls

    # -- control connections ---------------------------------------------

    def control_connected(self, conn: TcpConnection) -> None:
        self.loop.assert_in_loop_thread()
        client = ControlClient(conn, address_key(conn.peer_address))
        self.clients[conn] = client
        # A client that reads nothing (chat piling up) is closed, not given ever more memory.
        conn.set_high_water_mark(_close_overflowing, self.config.control_high_water)
        # Hello or not, heartbeats or not: a connection is only worth its fd once someone logs in on it.
        self.loop.run_after(self.config.login_timeout, partial(self._login_overdue, client))

    def _login_overdue(self, client: ControlClient) -> None:
        if client.closed or client.logged_in_once:
            return
        conn = client.conn
        log.info("%s from %s: not logged in within %.0f s; closing", conn.name, conn.peer_address,
                 self.config.login_timeout)
        client.closed = True
        conn.force_close()

    def control_closed(self, conn: TcpConnection) -> None:
        client = self.clients.pop(conn, None)
        if client is None:
            return
        client.closed = True
        self.provider_logins.client_closed(client)
        if client.session is not None:
            self.end_session(client.session, "connection_closed")

    def control_frame(self, conn: TcpConnection, body: bytes) -> None:
        client = self.clients.get(conn)
        if client is None or client.closed:
            return
        client.last_seen = time.monotonic()
        request_id = None
        try:
            _, payload = split_frame(body)
            kind, request_id, fields = decode_request(payload)
            if kind != "hello" and not client.hello_done:
                raise ProtocolError(ErrorCode.HELLO_FIRST)
            if kind == "media_hello":
                raise ProtocolError(ErrorCode.BAD_REQUEST,
                                    "media_hello belongs on an audio or video connection.")
            if kind in self._needs_session and client.session is None:
                raise ProtocolError(ErrorCode.NOT_LOGGED_IN)
            self._handlers[kind](client, request_id, fields)
        except ProtocolError as exc:
            self.send(client, error_reply(request_id if exc.request_id is None else exc.request_id, exc))
        except Exception:
            log.exception("%s: request failed", conn.name)
            self.send(client, error_reply(request_id, ProtocolError(ErrorCode.INTERNAL_ERROR)))

    def send(self, client: ControlClient, message: dict[str, Any]) -> None:
        if client.closed:
            return
        self._queue(client, encode_message(message))
        if message["type"] == "reply":
            self._answered(client.conn)

    def _answered(self, conn: TcpConnection) -> None:
        """One request fewer under way: resume reading a client that was too far ahead."""
        link: ControlLink = conn.context
        link.answered += 1
        if link.resume_wanted and link.waiting <= ControlLink.RESUME_AT:
            link.resume_wanted = False
            conn.loop.run_in_loop(partial(_resume_reading, conn))

    def reading_paused(self, conn: TcpConnection) -> None:
        """The I/O loop stopped reading conn: resume it now, or once enough replies went out."""
        link: ControlLink = conn.context
        if link.waiting <= ControlLink.RESUME_AT:
            conn.loop.run_in_loop(partial(_resume_reading, conn))
        else:
            link.resume_wanted = True

    def broadcast(self, clients: Iterable[ControlClient], message: dict[str, Any]) -> None:
        """One message to many: encoded once, the same bytes queued for each."""
        frame = encode_message(message)
        for client in clients:
            if not client.closed:
                self._queue(client, frame)

    def _queue(self, client: ControlClient, frame: bytes) -> None:
        """Send, unless the client has left more than control_high_water bytes unread: then close it.

        Counted here, on the control loop, rather than by the connection's own high-water mark
        alone: replies still on their way to the connection's loop are memory too, and a pipeline
        of big replies (avatars, room lists) makes them faster than that loop hears of them."""
        conn = client.conn
        unread = client.sent_bytes - conn.bytes_sent
        if unread + len(frame) > self.config.control_high_water:
            log.warning("%s from %s: %d bytes of replies and pushes unread; closing", conn.name,
                        conn.peer_address, unread)
            client.closed = True
            conn.force_close()
            return
        client.sent_bytes += len(frame)
        conn.send(frame)

    def reply(self, client: ControlClient, request_id: int, result: dict[str, Any] | None = None) -> None:
        self.send(client, reply(request_id, result))

    def fail(self, client: ControlClient, request_id: int, code: str, message: str | None = None) -> None:
        self.send(client, error_reply(request_id, ProtocolError(code, message)))

    def fail_storage(self, client: ControlClient, request_id: int, error: StorageError) -> None:
        """The error reply for a failed database job (the pool hands back only StorageErrors,
        having logged any other exception with its traceback)."""
        if isinstance(error, NameTakenError):
            self.fail(client, request_id, ErrorCode.NAME_TAKEN)
        elif isinstance(error, PoolBusy):
            self.send(client, error_reply(request_id, ProtocolError(ErrorCode.SERVER_BUSY, retry_after=1)))
        elif isinstance(error, StorageUnavailable):
            # Not logged per request: the pool's circuit breaker says once when it goes and comes back.
            self.fail(client, request_id, ErrorCode.DATABASE_UNAVAILABLE)
        else:
            self.fail(client, request_id, ErrorCode.INTERNAL_ERROR)

    def run_db(self, fn: Callable[..., Any], args: tuple,
               on_done: Callable[[Any, BaseException | None], None]) -> None:
        """fn(storage, *args) on a worker thread; on_done(result, error) back on this loop, within
        config.db_deadline seconds even when the database is stalled (then StorageUnavailable)."""
        self.db.submit(self.loop, fn, args, on_done, deadline=self.config.db_deadline)

    def run_hash(self, client: ControlClient, fn: Callable[..., Any], args: tuple,
                 on_done: Callable[[Any, BaseException | None], None]) -> None:
        """fn(*args), a password hash or check, on a hashing worker; on_done(result, error) back here.

        Clients' addresses take turns at the workers, so one address's flood of guesses delays
        only itself; a full queue answers PoolBusy (SERVER_BUSY) at once.
        """
        self.hashing.submit(self.loop, without_storage(fn), args, on_done, owner=client.address)

    def _hello(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        if fields["version"] != PROTOCOL_VERSION:
            raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION,
                                f"This server speaks protocol version {PROTOCOL_VERSION}, "
                                f"the client version {fields['version']}: update the client.")
        client.hello_done = True
        self.reply(client, request_id, {
            "server": SERVER_NAME, "version": PROTOCOL_VERSION, "server_time": time.time(),
            # The "Log in with ..." buttons a login screen shows.
            "providers": self.provider_logins.listing()})

    def _heartbeat(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        self.reply(client, request_id, {"server_time": time.time()})

    def _time_sync(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        self.reply(client, request_id, {"client_time": fields["client_time"], "server_time": time.time()})

    # -- sessions ---------------------------------------------------------

    def start_session(self, client: ControlClient, user) -> Session:
        old = self.sessions_by_user.get(user.id)
        if old is not None:
            self.end_session(old, "logged_in_elsewhere")
        session = Session(user, secrets.token_urlsafe(24), client)
        client.session = session
        client.logged_in_once = True
        client.conn.context.logged_in = True  # larger frames from now on (an avatar upload)
        self.sessions_by_token[session.token] = session
        self.sessions_by_user[user.id] = session
        log.info("login: %r (user %d) from %s", user.username, user.id, client.conn.peer_address)
        return session

    def end_session(self, session: Session, reason: str) -> None:
        """Leave the room, close the media connections, and tell the client why."""
        if session.ended:
            return
        session.ended = True
        if session.room is not None:
            self.room_requests.remove_member(session)
        if self.sessions_by_token.get(session.token) is session:
            del self.sessions_by_token[session.token]
        if self.sessions_by_user.get(session.user_id) is session:
            del self.sessions_by_user[session.user_id]
        for peer in (session.audio, session.video):
            if peer is not None:
                peer.route = None
                peer.conn.force_close()
        session.audio = session.video = None
        client = session.control
        client.session = None
        client.conn.context.logged_in = False
        log.info("session of %r (user %d) ended: %s", session.user.username, session.user_id, reason)
        if reason in _ENDED_MESSAGES:
            self.send(client, {"type": "session_ended", "reason": reason, "message": _ENDED_MESSAGES[reason]})
            self.say_goodbye(client.conn)

    def say_goodbye(self, conn: TcpConnection) -> None:
        """Close after what is queued has gone out, and for certain a moment later."""
        conn.shutdown()
        self.loop.run_after(GOODBYE_GRACE, conn.force_close)

    # -- media connections ------------------------------------------------

    def media_connected(self, conn: TcpConnection) -> None:
        self.unauthenticated_media[conn] = time.monotonic()
        self.loop.run_after(self.config.login_timeout, partial(self._media_hello_overdue, conn))

    def _media_hello_overdue(self, conn: TcpConnection) -> None:
        if self.unauthenticated_media.pop(conn, None) is None:
            return  # proved itself, was refused, or closed
        log.info("%s from %s: no media_hello within %.0f s; closing", conn.name, conn.peer_address,
                 self.config.login_timeout)
        conn.force_close()

    def media_closed(self, conn: TcpConnection, peer: MediaPeer | None) -> None:
        self.unauthenticated_media.pop(conn, None)
        if peer is None:
            return
        session = self.sessions_by_user.get(peer.user_id)
        if session is not None and session.peer(peer.stream) is peer:
            session.set_peer(peer.stream, None)
            if session.room is not None:
                session.room.publish_routes()

    def _post_receiver_stalled(self, peer: MediaPeer) -> None:
        """On the peer's I/O loop: the session is the control loop's to end."""
        self.loop.run_in_loop(partial(self._receiver_stalled, peer))

    def _receiver_stalled(self, peer: MediaPeer) -> None:
        session = self.sessions_by_user.get(peer.user_id)
        if session is not None and session.peer(peer.stream) is peer:
            log.warning("user %d read no %s for %.0f s; ending the session", peer.user_id,
                        peer.stream.name.lower(), peer.stall_limit)
            self.end_session(session, "too_slow")

    def media_hello(self, conn: TcpConnection, stream: StreamKind, body: bytes) -> None:
        """Attach an audio or video connection to the session whose token it shows."""
        if conn not in self.unauthenticated_media:
            return  # closed meanwhile, or a second hello while the first is answered
        request_id = None
        try:
            _, payload = split_frame(body)
            kind, request_id, fields = decode_request(payload)
            if kind != "media_hello":
                raise ProtocolError(ErrorCode.BAD_REQUEST,
                                    "The first request on a media connection must be media_hello.")
            if fields["stream"] != stream.name.lower():
                raise ProtocolError(ErrorCode.BAD_REQUEST,
                                    f"This is the {stream.name.lower()} port, not {fields['stream'][:20]!r}.")
            session = self.sessions_by_token.get(fields["token"])
            # Bound to the control connection that logged in: from elsewhere, the token is no use.
            if session is None or address_key(conn.peer_address) != session.control.address:
                raise ProtocolError(ErrorCode.BAD_TOKEN)
            live = session.peer(stream)
            if live is not None and live.conn.connected:
                # Never replaced: a stolen token must not be able to push the owner off their stream.
                raise ProtocolError(ErrorCode.MEDIA_ALREADY_CONNECTED)
        except ProtocolError as exc:
            log.info("%s: media connection refused: %s", conn.name, exc.message)
            del self.unauthenticated_media[conn]
            answered = request_id if exc.request_id is None else exc.request_id
            conn.send(encode_message(error_reply(answered, exc)))
            self.say_goodbye(conn)
            return
        del self.unauthenticated_media[conn]
        if live is not None:  # closed, its close not yet heard of here
            live.route = None
        peer = MediaPeer(conn, session.user_id, stream, self.stats_by_loop[conn.loop])
        peer.stall_limit = self.config.receiver_stall_timeout
        peer.on_stalled = self._post_receiver_stalled
        session.set_peer(stream, peer)
        # The context is read on the connection's own loop; queued there ahead
        # of the reply, it is in place before the client can send media.
        conn.loop.run_in_loop(partial(setattr, conn, "context", peer))
        if session.room is not None:
            session.room.publish_routes()
        conn.send(encode_message(reply(request_id, {"user_id": session.user_id})))

    # -- housekeeping -----------------------------------------------------

    def reap_silent(self) -> None:
        """Remove clients whose heartbeat stopped (those that never logged in are closed sooner)."""
        now = time.monotonic()
        limit = self.config.heartbeat_timeout
        for client in list(self.clients.values()):
            if now - client.last_seen > limit:
                if client.session is not None:
                    self.end_session(client.session, "heartbeat_timeout")
                else:
                    log.info("%s: silent for %.0f s before logging in; closing", client.conn.name, limit)
                    client.conn.force_close()

    def announce_shutdown(self) -> None:
        self.stopping = True
        for client in list(self.clients.values()):
            self.send(client, {"type": "server_shutdown",
                               "message": "The server is shutting down; reconnect in a moment."})
            client.conn.shutdown()


def _resume_reading(conn: TcpConnection) -> None:
    """On conn's own loop."""
    conn.context.reading_paused = False
    conn.start_reading()


def _close_overflowing(conn: TcpConnection, queued: int) -> None:
    log.warning("%s: %d bytes of replies and pushes unread; closing", conn.name, queued)
    conn.force_close()
