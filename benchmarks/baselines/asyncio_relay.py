"""The relay part of our protocol as a good Python programmer writes it on asyncio (or uvloop).

    python -m benchmarks.baselines.asyncio_relay --port BASE [--uvloop]

Control on BASE, audio on BASE + 1, video on BASE + 2 (127.0.0.1; BASE 0
picks a free triple); prints `ready BASE` once listening; SIGTERM or SIGINT
stops it (exit 0). It speaks docs/PROTOCOL.md, so the same clients and load
generator drive it and our server, and it keeps the same per-receiver rules:
video latest-wins, audio dropped beyond 16 KiB queued, drops counted.

What it leaves out, to stay a short and fair baseline of the relay alone:
everything lives in memory (no database, no persistence, no persistent
rooms); passwords are kept and compared in plain text (no hashing, no
strength rules beyond length, no login rate limit); no profiles
(`get_profile`, `update_profile`, avatars), no `logout`, `list_rooms`,
`chat` or chat history, no `request_keyframe`; rooms have no password and no
size limit; heartbeats are answered but silent clients are never reaped, and
media connections that never say hello are never timed out; a second login
closes the first session without a `session_ended` push; no
`server_shutdown` push; one event loop, one thread.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from protocol import PROTOCOL_VERSION
from protocol.errors import ErrorCode, ProtocolError
from protocol.framing import LENGTH, MAX_FRAME_SIZE, FrameKind
from protocol.media import MEDIA_HEADER, StreamKind
from protocol.messages import decode_request, encode_message, error_reply, reply
from protocol.names import checked_username
from protocol.password_rules import check_new_password
from protocol.text_rules import DISPLAY_NAME_MAX, TITLE_MAX, clean_text

log = logging.getLogger("asyncio_relay")

HOST = "127.0.0.1"
SERVER_NAME = "mini-meeting asyncio baseline"
HEARTBEAT_INTERVAL = 10.0
AUDIO_QUEUE_LIMIT = 16 * 1024  # as server/media_peer.py
MEMBERS_PUSH_DELAY = 0.05  # as server/room_requests.py
ROOM_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ROOM_ID_LENGTH = 6

# The two header fields checked per frame: stream and sender id, after length and kind.
_STREAM_AND_SENDER = struct.Struct("!BI")
_MEDIA_FIELDS_AT = LENGTH.size + 1
_MIN_MEDIA_FRAME = _MEDIA_FIELDS_AT + MEDIA_HEADER.size


@dataclass(eq=False)
class User:
    user_id: int
    username: str
    password: str  # plain text: this baseline measures relaying, not hashing
    display_name: str


@dataclass(eq=False)
class Room:
    room_id: str
    title: str
    owner_id: int
    members: dict[int, Session] = field(default_factory=dict)
    # Per stream, the media connections of every member, rebuilt on each change
    # so that the per-frame path only iterates a tuple.
    receivers: dict[int, tuple[MediaProtocol, ...]] = field(
        default_factory=lambda: {StreamKind.AUDIO: (), StreamKind.VIDEO: ()})
    members_push_due: bool = False

    def publish_receivers(self) -> None:
        sessions = self.members.values()
        self.receivers = {StreamKind.AUDIO: tuple(s.audio for s in sessions if s.audio is not None),
                          StreamKind.VIDEO: tuple(s.video for s in sessions if s.video is not None)}

    def to_json(self) -> dict[str, Any]:
        return {"room_id": self.room_id, "title": self.title, "owner_id": self.owner_id,
                "persistent": False, "has_password": False}

    def members_json(self) -> list[dict[str, Any]]:
        return [{"user_id": s.user.user_id, "username": s.user.username,
                 "display_name": s.user.display_name} for s in self.members.values()]


@dataclass(eq=False)
class Session:
    user: User
    token: str
    control: ControlProtocol
    audio: MediaProtocol | None = None
    video: MediaProtocol | None = None
    room: Room | None = None


class Relay:
    """All state, on the one event loop: accounts, sessions, rooms, and the counters."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.sessions_by_token: dict[str, Session] = {}
        self.sessions_by_user: dict[int, Session] = {}
        self.rooms: dict[str, Room] = {}
        self.connections: set[FrameProtocol] = set()
        self.ports = {"audio_port": 0, "video_port": 0}
        self.frames_in = self.frames_out = self.drops = 0

    def new_room_id(self) -> str:
        while True:
            room_id = "".join(secrets.choice(ROOM_ID_ALPHABET) for _ in range(ROOM_ID_LENGTH))
            if room_id not in self.rooms:
                return room_id

    def join(self, session: Session, room: Room) -> None:
        self.rooms[room.room_id] = room
        room.members[session.user.user_id] = session
        session.room = room
        room.publish_receivers()

    def leave(self, session: Session) -> None:
        room, session.room = session.room, None
        if room is None:
            return
        del room.members[session.user.user_id]
        room.publish_receivers()
        if room.members:
            self.push_members(room)
        else:
            del self.rooms[room.room_id]

    def push_members(self, room: Room) -> None:
        """Coalesced as our server does: a crowd joining at once is not told n times n names
        (without it, 600 joins queue gigabytes of member lists and the baseline is still
        sending them while the relay is measured)."""
        if room.members_push_due:
            return
        room.members_push_due = True
        asyncio.get_running_loop().call_later(MEMBERS_PUSH_DELAY, self._push_members_now, room)

    def _push_members_now(self, room: Room) -> None:
        room.members_push_due = False
        if not room.members:
            return
        message = encode_message({"type": "members", "room_id": room.room_id, "members": room.members_json()})
        for member in room.members.values():
            member.control.send_frame(message)

    def end_session(self, session: Session) -> None:
        """Leave the room and close the media connections; the token stops working."""
        self.leave(session)
        self.sessions_by_token.pop(session.token, None)
        if self.sessions_by_user.get(session.user.user_id) is session:
            del self.sessions_by_user[session.user.user_id]
        session.control.session = None
        for peer in (session.audio, session.video):
            if peer is not None:
                peer.close()
        session.audio = session.video = None

    def media_gone(self, peer: MediaProtocol) -> None:
        session = peer.session
        if session is None or (session.audio is not peer and session.video is not peer):
            return
        if peer.stream == StreamKind.AUDIO:
            session.audio = None
        else:
            session.video = None
        if session.room is not None:
            session.room.publish_receivers()

    def stats_line(self) -> str:
        return (f"stats: connections={len(self.connections)} sessions={len(self.sessions_by_user)} "
                f"rooms={len(self.rooms)} frames_in={self.frames_in} frames_out={self.frames_out} "
                f"drops={self.drops}")


class FrameProtocol(asyncio.BufferedProtocol):
    """Length-prefixed frames out of the byte stream; each handed on whole, prefix included.

    BufferedProtocol reads into one reused buffer: with a plain Protocol,
    asyncio allocates a 256 KiB bytes object per read, which measured about
    1.6x the CPU at 50 participants (uvloop: no difference). The prefix stays
    on each frame, so relaying is one write of one shared bytes object per receiver.
    """

    read_buffer_size = 64 * 1024  # grows to fit a larger frame

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self._view = memoryview(bytearray(self.read_buffer_size))
        self._filled = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.relay.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.connections.discard(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._filled == len(self._view):
            # Full with one incomplete frame, whose length was checked: double the buffer.
            grown = memoryview(bytearray(2 * len(self._view)))
            grown[:self._filled] = self._view
            self._view = grown
        return self._view[self._filled:]

    def buffer_updated(self, nbytes: int) -> None:
        view = self._view
        filled, start = self._filled + nbytes, 0
        while filled - start >= LENGTH.size:
            (length,) = LENGTH.unpack_from(view, start)
            if not 1 <= length <= MAX_FRAME_SIZE:
                self.refuse(f"a frame length of {length}")
                return
            end = start + LENGTH.size + length
            if end > filled:
                break
            # The one copy: the frame outlives the buffer and is shared by every receiver.
            self.frame_received(bytes(view[start:end]))
            if self.transport.is_closing():
                return
            start = end
        if start:
            view[:filled - start] = view[start:filled]
        self._filled = filled - start

    def frame_received(self, frame: bytes) -> None:
        raise NotImplementedError

    def send_frame(self, frame: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(frame)

    def refuse(self, what: str) -> None:
        log.warning("%s: %s; closing", self.transport.get_extra_info("peername"), what)
        self.close()

    def close(self) -> None:
        self.transport.close()


class ControlProtocol(FrameProtocol):
    """JSON requests and replies; members pushes."""

    read_buffer_size = 4 * 1024

    def __init__(self, relay: Relay) -> None:
        super().__init__(relay)
        self.hello_done = False
        self.session: Session | None = None
        self._handlers: dict[str, Callable[[int, dict[str, Any]], None]] = {
            "hello": self._hello, "register": self._register, "login": self._login,
            "create_room": self._create_room, "join_room": self._join_room, "leave_room": self._leave_room,
            "heartbeat": self._heartbeat, "time_sync": self._time_sync,
        }
        self._needs_session = {"create_room", "join_room", "leave_room"}

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.session is not None:
            self.relay.end_session(self.session)

    def frame_received(self, frame: bytes) -> None:
        if frame[LENGTH.size] != FrameKind.CONTROL:
            self.refuse(f"frame kind {frame[LENGTH.size]} on the control connection")
            return
        request_id = None
        try:
            kind, request_id, fields = decode_request(memoryview(frame)[LENGTH.size + 1:])
            if kind != "hello" and not self.hello_done:
                raise ProtocolError(ErrorCode.HELLO_FIRST)
            if kind == "media_hello":
                raise ProtocolError(ErrorCode.BAD_REQUEST,
                                    "media_hello belongs on an audio or video connection.")
            handler = self._handlers.get(kind)
            if handler is None:
                raise ProtocolError(ErrorCode.UNKNOWN_TYPE,
                                    f"This baseline relay does not implement {kind!r}.")
            if kind in self._needs_session and self.session is None:
                raise ProtocolError(ErrorCode.NOT_LOGGED_IN)
            handler(request_id, fields)
        except ProtocolError as exc:
            self.send(error_reply(request_id if exc.request_id is None else exc.request_id, exc))
        except Exception:
            log.exception("request failed")
            self.send(error_reply(request_id, ProtocolError(ErrorCode.INTERNAL_ERROR)))

    def send(self, message: dict[str, Any]) -> None:
        self.send_frame(encode_message(message))

    def _hello(self, request_id: int, fields: dict[str, Any]) -> None:
        if fields["version"] != PROTOCOL_VERSION:
            raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION)
        self.hello_done = True
        self.send(reply(request_id, {"server": SERVER_NAME, "version": PROTOCOL_VERSION,
                                     "server_time": time.time()}))

    def _register(self, request_id: int, fields: dict[str, Any]) -> None:
        username, password = checked_username(fields["username"]), fields["password"]
        check_new_password(password)
        display_name = clean_text(fields.get("display_name") or "", "display_name", DISPLAY_NAME_MAX)
        display_name = display_name or username
        if username in self.relay.users:
            raise ProtocolError(ErrorCode.NAME_TAKEN)
        user = User(len(self.relay.users) + 1, username, password, display_name)
        self.relay.users[username] = user
        self.send(reply(request_id, {"user_id": user.user_id}))

    def _login(self, request_id: int, fields: dict[str, Any]) -> None:
        if self.session is not None:
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN)
        user = self.relay.users.get(fields["username"])
        if user is None:
            raise ProtocolError(ErrorCode.UNKNOWN_USER)
        if not secrets.compare_digest(user.password.encode(), fields["password"].encode()):
            raise ProtocolError(ErrorCode.WRONG_PASSWORD)
        old = self.relay.sessions_by_user.get(user.user_id)
        if old is not None:
            self.relay.end_session(old)
            old.control.close()
        self.session = Session(user, secrets.token_urlsafe(24), self)
        self.relay.sessions_by_token[self.session.token] = self.session
        self.relay.sessions_by_user[user.user_id] = self.session
        profile = {"user_id": user.user_id, "username": user.username, "display_name": user.display_name,
                   "signature": "", "avatar": ""}
        self.send(reply(request_id, {"token": self.session.token, "user": profile, **self.relay.ports,
                                     "heartbeat_interval": HEARTBEAT_INTERVAL, "server_time": time.time()}))

    def _create_room(self, request_id: int, fields: dict[str, Any]) -> None:
        session = self.session
        if session.room is not None:
            raise ProtocolError(ErrorCode.ALREADY_IN_ROOM)
        title = clean_text(fields.get("title") or "", "title", TITLE_MAX)
        title = title or f"{session.user.display_name}'s room"
        self._enter(request_id, Room(self.relay.new_room_id(), title, session.user.user_id))

    def _join_room(self, request_id: int, fields: dict[str, Any]) -> None:
        if self.session.room is not None:
            raise ProtocolError(ErrorCode.ALREADY_IN_ROOM)
        room = self.relay.rooms.get(fields["room_id"])
        if room is None:
            raise ProtocolError(ErrorCode.UNKNOWN_ROOM)
        self._enter(request_id, room)

    def _enter(self, request_id: int, room: Room) -> None:
        self.relay.join(self.session, room)
        self.send(reply(request_id, {"room": room.to_json(), "members": room.members_json(), "chat": []}))
        self.relay.push_members(room)

    def _leave_room(self, request_id: int, fields: dict[str, Any]) -> None:
        if self.session.room is None:
            raise ProtocolError(ErrorCode.NOT_IN_ROOM)
        self.relay.leave(self.session)
        self.send(reply(request_id))

    def _heartbeat(self, request_id: int, fields: dict[str, Any]) -> None:
        self.send(reply(request_id, {"server_time": time.time()}))

    def _time_sync(self, request_id: int, fields: dict[str, Any]) -> None:
        self.send(reply(request_id, {"client_time": fields["client_time"], "server_time": time.time()}))


class MediaProtocol(FrameProtocol):
    """One audio or video connection: checks and relays what it sends, applies the rules to what it gets."""

    def __init__(self, relay: Relay, stream: StreamKind) -> None:
        super().__init__(relay)
        self.stream = stream
        self.session: Session | None = None
        self._paused = False
        self._pending: bytes | None = None  # video only: the newest frame waiting for the buffer to drain

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.stream == StreamKind.VIDEO:
            # Paused as soon as anything is buffered, resumed once all of it
            # is sent: the drain signal that latest-wins needs.
            transport.set_write_buffer_limits(high=0)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.relay.media_gone(self)

    def close(self) -> None:
        self.relay.media_gone(self)  # out of the room's receivers now, not at connection_lost
        super().close()

    def frame_received(self, frame: bytes) -> None:
        session = self.session
        if session is None:
            self._hello(frame)
            return
        if len(frame) < _MIN_MEDIA_FRAME or frame[LENGTH.size] != FrameKind.MEDIA:
            self.refuse(f"a {len(frame)}-byte frame of kind {frame[LENGTH.size]} where media was due")
            return
        stream, sender = _STREAM_AND_SENDER.unpack_from(frame, _MEDIA_FIELDS_AT)
        if stream != self.stream or sender != session.user.user_id:
            self.refuse(f"media claiming stream {stream} from user {sender}")
            return
        self.relay.frames_in += 1
        room = session.room
        if room is not None:
            for peer in room.receivers[stream]:
                if peer is not self:
                    peer.deliver(frame)

    def deliver(self, frame: bytes) -> None:
        """Send now if the receiver keeps up; otherwise video keeps only the newest, audio drops."""
        relay = self.relay
        if self.stream is StreamKind.VIDEO:
            if self._paused:
                if self._pending is not None:
                    relay.drops += 1
                self._pending = frame
                return
        elif self.transport.get_write_buffer_size() > AUDIO_QUEUE_LIMIT:
            relay.drops += 1
            return
        self.transport.write(frame)
        relay.frames_out += 1

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        frame, self._pending = self._pending, None
        if frame is not None and not self.transport.is_closing():
            self.transport.write(frame)
            self.relay.frames_out += 1

    def _hello(self, frame: bytes) -> None:
        """The first frame must be media_hello with a live token for this stream; else reply and close."""
        request_id = None
        try:
            if frame[LENGTH.size] != FrameKind.CONTROL:
                raise ProtocolError(ErrorCode.BAD_REQUEST, "Media before a successful media_hello.")
            kind, request_id, fields = decode_request(memoryview(frame)[LENGTH.size + 1:])
            stream_name = self.stream.name.lower()
            if kind != "media_hello":
                raise ProtocolError(ErrorCode.BAD_REQUEST,
                                    "The first request on a media connection must be media_hello.")
            if fields["stream"] != stream_name:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"This is the {stream_name} port.")
            session = self.relay.sessions_by_token.get(fields["token"])
            if session is None:
                raise ProtocolError(ErrorCode.BAD_TOKEN)
        except ProtocolError as exc:
            answered = request_id if exc.request_id is None else exc.request_id
            self.send_frame(encode_message(error_reply(answered, exc)))
            self.close()  # asyncio sends what is buffered before closing
            return
        old = session.audio if self.stream == StreamKind.AUDIO else session.video
        if old is not None:
            old.close()
        self.session = session
        if self.stream == StreamKind.AUDIO:
            session.audio = self
        else:
            session.video = self
        if session.room is not None:
            session.room.publish_receivers()
        self.send_frame(encode_message(reply(request_id, {"user_id": session.user.user_id})))


async def listen(relay: Relay, base: int) -> tuple[int, list[asyncio.Server]]:
    """Control, audio and video servers on base, base + 1, base + 2 (base 0: a free triple)."""
    loop = asyncio.get_running_loop()
    factories = (lambda: ControlProtocol(relay), lambda: MediaProtocol(relay, StreamKind.AUDIO),
                 lambda: MediaProtocol(relay, StreamKind.VIDEO))
    for _ in range(50):
        servers = [await loop.create_server(factories[0], HOST, base, backlog=1024)]
        port = servers[0].sockets[0].getsockname()[1]
        try:
            for offset in (1, 2):
                servers.append(await loop.create_server(factories[offset], HOST, port + offset, backlog=1024))
        except OSError:
            for server in servers:
                server.close()
            if base:
                raise
            continue
        relay.ports = {"audio_port": port + 1, "video_port": port + 2}
        return port, servers
    raise OSError("no three consecutive free ports")


async def serve(base: int, stats_interval: float) -> None:
    """Listen, announce `ready BASE`, and serve until SIGTERM or SIGINT."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    relay = Relay()
    port, servers = await listen(relay, base)
    print(f"ready {port}", flush=True)
    while not await _wait(stop, stats_interval):
        print(relay.stats_line(), file=sys.stderr, flush=True)
    for server in servers:
        server.close()
    for connection in list(relay.connections):
        connection.transport.abort()
    await asyncio.sleep(0)  # lets the transports run connection_lost, which closes their sockets
    print(relay.stats_line(), file=sys.stderr, flush=True)


async def _wait(event: asyncio.Event, timeout: float) -> bool:
    """True once the event is set; False if `timeout` (> 0) passed first."""
    try:
        await asyncio.wait_for(event.wait(), timeout if timeout > 0 else None)
    except TimeoutError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the relay on asyncio (or uvloop), for benchmarks")
    parser.add_argument("--port", type=int, default=0,
                        help="control port; audio and video on the next two (0: a free triple)")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop's event loop")
    parser.add_argument("--stats-interval", type=float, default=0.0,
                        help="seconds between stats lines on stderr (0: only one at exit)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    loop_factory = None
    if args.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(args.port, args.stats_interval))
    return 0


if __name__ == "__main__":
    sys.exit(main())
