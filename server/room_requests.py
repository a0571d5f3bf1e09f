"""create, join, leave and list rooms; chat; key-frame requests; members' media state."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from protocol.errors import ErrorCode, ProtocolError
from protocol.media import SOURCE_NAMES
from protocol.messages import error_reply
from protocol.text_rules import CHAT_MAX, TITLE_MAX, clean_text
from server.passwords import hash_password, verify_password
from server.room import CHAT_HISTORY, Room
from server.room_ids import new_room_id
from server.session import ControlClient, Session
from server.storage.errors import RoomIdTakenError, RoomQuotaError
from server.storage.records import ChatRecord, RoomRecord
from server.storage.storage import Storage

if TYPE_CHECKING:
    from server.control_service import ControlService

log = logging.getLogger(__name__)

# list_rooms: rooms per page when the client does not say, and the most it may ask for.
ROOMS_PAGE_DEFAULT, ROOMS_PAGE_MAX = 50, 100
# Membership changes this close together go out as one `members` push.
MEMBERS_PUSH_DELAY = 0.05


def chat_json(room_id: str, user_id: int, username: str, display_name: str, text: str,
              sent_at: float) -> dict[str, Any]:
    return {"room_id": room_id, "user_id": user_id, "username": username, "display_name": display_name,
            "text": text, "sent_at": sent_at}


def _cursor_of(record: RoomRecord) -> str:
    """Opaque to clients: where the page ended, in the order rooms are listed (created_at, room_id)."""
    return f"{record.created_at!r}/{record.room_id}"


def _parse_cursor(cursor: str) -> tuple[float, str]:
    created, _, room_id = cursor.partition("/")
    try:
        created_at = float(created)
    except ValueError:
        created_at = math.nan
    if not math.isfinite(created_at) or not room_id or len(cursor) > 200:
        raise ProtocolError(ErrorCode.BAD_REQUEST, "'cursor' must be a next_cursor from list_rooms.")
    return created_at, room_id


def _load_room(storage: Storage, room_id: str) -> tuple[RoomRecord | None, list[ChatRecord]]:
    record = storage.get_room(room_id)
    if record is None:
        return None, []
    return record, storage.recent_chat(room_id, CHAT_HISTORY)


class RoomRequests:
    """Handlers called by ControlService on the control loop."""

    def __init__(self, service: ControlService) -> None:
        self.service = service
        # Temporary rooms that ended and whose record is being deleted: nobody may load them meanwhile.
        self._ending: set[str] = set()

    # -- create and join ---------------------------------------------------

    def create_room(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        session = client.session
        if session.room is not None or session.creating_room:
            raise ProtocolError(ErrorCode.ALREADY_IN_ROOM)
        title = clean_text(fields.get("title") or "", "title", TITLE_MAX)
        title = title or f"{session.user.display_name}'s room"
        password = fields.get("password") or None
        persistent = fields.get("persistent", False)
        session.creating_room = True
        if password is None:
            self._create(client, request_id, session, title, None, persistent, attempts=3)
            return

        def hashed(password_hash: str | None, error: BaseException | None) -> None:
            if error is not None:
                self._refuse_storage(client, request_id, session, error)
            else:
                self._create(client, request_id, session, title, password_hash, persistent, attempts=3)

        self.service.run_hash(client, hash_password, (password,), hashed)

    def _create(self, client: ControlClient, request_id: int, session: Session, title: str,
                password_hash: str | None, persistent: bool, attempts: int) -> None:
        room_id = new_room_id()
        while room_id in self.service.rooms:
            room_id = new_room_id()
        quota = self.service.config.persistent_rooms_per_user

        def done(record: RoomRecord | None, error: BaseException | None) -> None:
            if isinstance(error, RoomIdTakenError) and attempts > 1:
                self._create(client, request_id, session, title, password_hash, persistent, attempts - 1)
            elif isinstance(error, RoomQuotaError):
                self._refuse(client, request_id, session, ErrorCode.ROOM_QUOTA,
                             f"You keep {quota} saved rooms already, the most one person may: "
                             f"a new one can only be temporary.")
            elif error is not None:
                self._refuse_storage(client, request_id, session, error)
            elif session.ended or session.room is not None:
                # Logged out, or a join sent meanwhile won: nobody will ever be told this room's id,
                # so it must not stay behind.
                self._forget_room(room_id)
                self._refuse(client, request_id, session, ErrorCode.ALREADY_IN_ROOM
                             if session.room is not None else ErrorCode.NOT_LOGGED_IN)
            else:
                session.creating_room = False
                room = self._room_from(record, [])
                log.info("room %s created by %r (persistent: %s)", room.room_id, session.user.username,
                         room.persistent)
                self._admit(client, request_id, session, room)

        # Temporary rooms are written too, so that a restarted server can take their members back.
        self.service.run_db(lambda storage: storage.create_room(room_id, session.user_id, title,
                                                                password_hash, persistent, quota), (), done)

    def join_room(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        session = client.session
        if session.room is not None:
            raise ProtocolError(ErrorCode.ALREADY_IN_ROOM)
        room_id, password = fields["room_id"], fields.get("password")
        # Counted before the id is looked up: guessing ids is refused (RATE_LIMITED) after a few misses.
        attempt = self.service.guesses.room_id(session.user_id, client.address)
        room = self.service.rooms.get(room_id)
        if room is not None:
            attempt.succeeded()
            self._check_and_admit(client, request_id, session, room, password)
            return
        if room_id in self._ending:
            attempt.failed()
            self._no_such_room(client, request_id, room_id)
            return

        def loaded(result: tuple[RoomRecord | None, list[ChatRecord]] | None,
                   error: BaseException | None) -> None:
            if error is not None:
                attempt.abandoned()
                self.service.fail_storage(client, request_id, error)
                return
            record, chat = result
            if record is None or (room_id in self._ending and room_id not in self.service.rooms):
                attempt.failed()
                self._no_such_room(client, request_id, room_id)
                return
            attempt.succeeded()
            # Another join may have loaded it meanwhile: keep that one.
            room = self.service.rooms.get(room_id) or self._room_from(record, chat)
            self._check_and_admit(client, request_id, session, room, password)

        self.service.run_db(_load_room, (room_id,), loaded)

    def _refuse(self, client: ControlClient, request_id: int, session: Session, code: str,
                message: str | None = None) -> None:
        """A create ends without a room: another may be sent."""
        session.creating_room = False
        self.service.fail(client, request_id, code, message)

    def _refuse_storage(self, client: ControlClient, request_id: int, session: Session,
                        error: BaseException) -> None:
        session.creating_room = False
        self.service.fail_storage(client, request_id, error)

    def _no_such_room(self, client: ControlClient, request_id: int, room_id: str) -> None:
        self.service.fail(client, request_id, ErrorCode.UNKNOWN_ROOM,
                          f"There is no room with the id {room_id[:20]!r}.")

    def _room_from(self, record: RoomRecord, chat: list[ChatRecord]) -> Room:
        room = Room(record.room_id, record.title, record.owner_id, record.password_hash, record.persistent)
        room.recent_chat = deque((chat_json(c.room_id, c.user_id, c.username, c.display_name, c.text,
                                            c.sent_at) for c in chat), maxlen=CHAT_HISTORY)
        return room

    def _check_and_admit(self, client: ControlClient, request_id: int, session: Session, room: Room,
                         password: str | None) -> None:
        if len(room.members) >= self.service.config.max_room_size:
            self.service.fail(client, request_id, ErrorCode.ROOM_FULL)
            return
        if room.password_hash is None:
            self._admit(client, request_id, session, room)
            return
        if not password:
            self.service.fail(client, request_id, ErrorCode.WRONG_ROOM_PASSWORD,
                              "This room has a password: give it to join.")
            return
        address = client.address
        try:
            # Counted before the check, as login attempts are (this may run after a database read,
            # outside the request's own error handling: hence the explicit reply).
            attempt = self.service.guesses.room_password(room.room_id, address)
        except ProtocolError as exc:
            self.service.send(client, error_reply(request_id, exc))
            return

        def verified(ok: bool | None, error: BaseException | None) -> None:
            if error is not None:
                attempt.abandoned()
                self.service.fail_storage(client, request_id, error)
            elif not ok:
                attempt.failed()
                self.service.fail(client, request_id, ErrorCode.WRONG_ROOM_PASSWORD)
            else:
                attempt.succeeded()
                self.service.guesses.room_password_right(room.room_id, address)
                self._admit(client, request_id, session, room, password)

        # Verifying costs as much as hashing: a hashing worker does it.
        self.service.run_hash(client, verify_password, (room.password_hash, password), verified)

    def _admit(self, client: ControlClient, request_id: int, session: Session, room: Room,
               password: str | None = None) -> None:
        """The last step of create and join; state is checked again after the async gap."""
        if session.ended:
            return
        if session.room is not None:
            self.service.fail(client, request_id, ErrorCode.ALREADY_IN_ROOM)
            return
        if len(room.members) >= self.service.config.max_room_size:
            self.service.fail(client, request_id, ErrorCode.ROOM_FULL)
            return
        self.service.rooms.setdefault(room.room_id, room)
        room = self.service.rooms[room.room_id]
        room.members[session.user_id] = session
        session.room = room
        session.room_password = password
        room.publish_routes()
        log.info("%r joined room %s (%d members)", session.user.username, room.room_id, len(room.members))
        self.service.reply(client, request_id, {"room": room.to_json(), "members": room.members_json(),
                                                "chat": list(room.recent_chat)})
        self.push_members(room)

    # -- leave ------------------------------------------------------------

    def leave_room(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        session = client.session
        if session.room is None:
            raise ProtocolError(ErrorCode.NOT_IN_ROOM)
        self.remove_member(session)
        self.service.reply(client, request_id)

    def remove_member(self, session: Session) -> None:
        room = session.room
        if room is None:
            return
        room.members.pop(session.user_id, None)
        session.room = None
        session.room_password = None
        for peer in (session.audio, session.video):
            if peer is not None:
                peer.route = None
        room.publish_routes()
        log.info("%r left room %s (%d members)", session.user.username, room.room_id, len(room.members))
        if room.members:
            self.push_members(room)
        elif self.service.rooms.get(room.room_id) is room:
            # Empty: a temporary room ends; a persistent one is reloaded on the next join. Not while
            # the server stops: then its members come back to it once it is up again.
            del self.service.rooms[room.room_id]
            if not room.persistent and not self.service.stopping:
                self._forget_room(room.room_id)

    def _forget_room(self, room_id: str) -> None:
        self._ending.add(room_id)

        def done(_result: None, error: BaseException | None) -> None:
            self._ending.discard(room_id)
            if error is not None:  # the start-up sweep deletes it later
                log.warning("temporary room %s not deleted: %s", room_id, error)

        self.service.run_db(lambda storage: storage.delete_room(room_id), (), done)

    def sweep_unclaimed_rooms(self) -> None:
        """After the grace period that follows a start: temporary rooms nobody came back to go."""
        def listed(records: list[RoomRecord] | None, error: BaseException | None) -> None:
            if error is not None:
                log.warning("temporary rooms not swept: %s", error)
                return
            gone = [record.room_id for record in records if record.room_id not in self.service.rooms]
            for room_id in gone:
                self._forget_room(room_id)
            if gone:
                log.info("%d temporary rooms nobody rejoined were deleted", len(gone))

        self.service.run_db(lambda storage: storage.list_temporary_rooms(), (), listed)

    def push_members(self, room: Room) -> None:
        """Tell every member who is in the room, soon: changes within MEMBERS_PUSH_DELAY
        share one push, so that a crowd joining at once is not told n times n names."""
        if room.members_push_due:
            return
        room.members_push_due = True
        self.service.loop.run_after(MEMBERS_PUSH_DELAY, lambda: self._push_members_now(room))

    def _push_members_now(self, room: Room) -> None:
        room.members_push_due = False
        if room.members:
            message = {"type": "members", "room_id": room.room_id, "members": room.members_json()}
            self.service.broadcast((member.control for member in room.members.values()), message)

    # -- listing, chat, key frames ----------------------------------------

    def list_rooms(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        """One page of the persistent rooms, oldest first: however many there are, no reply nears
        the frame limit (a page of 100 rooms with the longest titles is under 100 KB)."""
        limit = fields.get("limit", ROOMS_PAGE_DEFAULT)
        if not 1 <= limit <= ROOMS_PAGE_MAX:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"'limit' is 1 to {ROOMS_PAGE_MAX}.")
        after = _parse_cursor(fields["cursor"]) if "cursor" in fields else None

        def done(records: list[RoomRecord] | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
                return
            rooms = []
            for record in records[:limit]:
                live = self.service.rooms.get(record.room_id)
                rooms.append({"room_id": record.room_id, "title": record.title, "owner_id": record.owner_id,
                              "persistent": True, "has_password": record.password_hash is not None,
                              "members": len(live.members) if live else 0})
            more = len(records) > limit
            self.service.reply(client, request_id, {
                "rooms": rooms, "next_cursor": _cursor_of(records[limit - 1]) if more else None})

        # One more than the page: whether another page follows is known without asking again.
        self.service.run_db(lambda storage: storage.list_persistent_rooms(after, limit + 1), (), done)

    def chat(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        session = client.session
        room = session.room
        if room is None:
            raise ProtocolError(ErrorCode.NOT_IN_ROOM)
        text = clean_text(fields["text"], "text", CHAT_MAX, multiline=True)
        if not text:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A chat message may not be empty.")
        sent_at = time.time()
        message = chat_json(room.room_id, session.user_id, session.user.username, session.user.display_name,
                            text, sent_at)
        if not room.persistent:
            self._say(client, request_id, room, message)
            return

        def stored(_result: None, error: BaseException | None) -> None:
            if error is not None:
                # Nobody saw it and the sender is told: never an "ok" for a line that is not kept.
                self.service.fail_storage(client, request_id, error)
            else:
                self._say(client, request_id, room, message)

        # A persistent room's line is acknowledged (and shown) only once it is written.
        self.service.run_db(lambda storage: storage.add_chat_message(room.room_id, session.user_id, text,
                                                                     sent_at), (), stored)

    def _say(self, client: ControlClient, request_id: int, room: Room, message: dict[str, Any]) -> None:
        room.recent_chat.append(message)
        self.service.reply(client, request_id, {"sent_at": message["sent_at"]})
        self.service.broadcast((member.control for member in room.members.values()),
                               {"type": "chat", **message})

    def request_keyframe(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        session = client.session
        source = fields.get("source", "camera")
        if source not in SOURCE_NAMES:
            raise ProtocolError(ErrorCode.BAD_REQUEST, "'source' is \"camera\" or \"screen\".")
        room = session.room
        target = room.members.get(fields["user_id"]) if room is not None else None
        if target is None:
            raise ProtocolError(ErrorCode.NOT_IN_ROOM, "That participant is not in your room.")
        self.service.send(target.control, {"type": "keyframe_request", "from_user_id": session.user_id,
                                           "source": source})
        self.service.reply(client, request_id)

    # -- what members send ----------------------------------------------------

    def set_media_state(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        """Remembered outside a room too: a client may mute before it joins."""
        session = client.session
        state = {**session.media_state, **fields}
        changed = state != session.media_state
        session.media_state = state
        self.service.reply(client, request_id, dict(state))
        if changed and session.room is not None:
            self.push_members(session.room)
