"""register, login, logout and profiles."""

from __future__ import annotations

import base64
import binascii
import logging
import time
from typing import TYPE_CHECKING, Any

from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import AVATAR_MAX_BYTES, is_avatar_image
from protocol.names import checked_username, username_key
from protocol.password_rules import check_new_password
from protocol.text_rules import DISPLAY_NAME_MAX, SIGNATURE_MAX, clean_text
from server.passwords import hash_password, verify_password
from server.session import ControlClient, Session
from server.storage.records import UserRecord
from server.storage.storage import Storage

if TYPE_CHECKING:
    from server.control_service import ControlService

log = logging.getLogger(__name__)

# A display name that is someone else's user name would let one person pass for another.
_DISPLAY_NAME_TAKEN = "That display name is another person's user name: choose a different one."


def profile_json(user: UserRecord) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.username, "display_name": user.display_name,
            "signature": user.signature,
            "avatar": base64.b64encode(user.avatar).decode() if user.avatar else ""}


def _logged_if_failed(_result: Any, error: BaseException | None) -> None:
    if error is not None:
        log.warning("login tokens not forgotten at logout: %s", error)


def find_user(storage: Storage, name: str) -> UserRecord | None:
    """The account a typed name means: exactly that name, else any case or Unicode form of it."""
    return storage.get_user_by_name(name, username_key(name))


def display_name_is_someone_elses(storage: Storage, display_name: str, user_id: int | None) -> bool:
    """Whether the display name, in any case or form, is the user name of an account other than
    `user_id` (None: the account is not made yet)."""
    owner = find_user(storage, display_name)
    return owner is not None and owner.id != user_id


class AccountRequests:
    """Handlers called by ControlService on the control loop."""

    def __init__(self, service: ControlService) -> None:
        self.service = service

    def register(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        username = checked_username(fields["username"])
        key = username_key(username)
        password = fields["password"]
        check_new_password(password)
        display_name = clean_text(fields.get("display_name") or "", "display_name", DISPLAY_NAME_MAX) \
            or username
        # Counted before the hash: a flood of registrations from one address is refused cheaply.
        self.service.guesses.register(client.address)

        def create(storage: Storage, password_hash: str) -> UserRecord | None:
            """None when the display name is someone else's user name."""
            own_name = username_key(display_name) == key  # in another case or form, say
            if not own_name and display_name_is_someone_elses(storage, display_name, None):
                return None
            return storage.create_user(username, password_hash, display_name, key)

        def stored(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
            elif user is None:
                self.service.fail(client, request_id, ErrorCode.BAD_REQUEST, _DISPLAY_NAME_TAKEN)
            else:
                self.service.reply(client, request_id, {"user_id": user.id})  # committed: now it is said

        def hashed(password_hash: str | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
            else:
                self.service.run_db(create, (password_hash,), stored)

        # Hashing costs tens of milliseconds: on the hashing workers, then the insert on the database's.
        self.service.run_hash(client, hash_password, (password,), hashed)

    def login(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        if client.session is not None:
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN)
        username, password = fields["username"], fields["password"]
        address = client.address
        # Counted per account, not per spelling: "Alice" and "ALICE" are one name to guess at.
        limited_as = username_key(username) or username
        # Counted before the database or the hash is asked, so that pipelined and parallel guesses
        # are refused as surely as one after another (RATE_LIMITED raised here).
        attempt = self.service.guesses.login(limited_as, address)

        def checked(user: UserRecord | None, password_ok: bool | None, error: BaseException | None) -> None:
            if error is not None:
                attempt.abandoned()  # nothing was checked, so nothing was learnt
                self.service.fail_storage(client, request_id, error)
            elif user is None or not password_ok:
                attempt.failed()
                # One answer for an unknown name and a wrong password, after the same argon2 work.
                self.service.fail(client, request_id, ErrorCode.WRONG_PASSWORD)
            else:
                attempt.succeeded()
                self.service.guesses.logged_in(limited_as, address)
                if client.closed:
                    return
                if client.session is not None:
                    self.service.fail(client, request_id, ErrorCode.ALREADY_LOGGED_IN)
                else:
                    self._logged_in(client, request_id, user)

        def found(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None:
                checked(None, False, error)
            else:
                # No such user: checked against a dummy hash, so the reply comes just as late.
                stored_hash = user.password_hash if user else None
                self.service.run_hash(client, verify_password, (stored_hash, password),
                                      lambda ok, error: checked(user, ok, error))

        self.service.run_db(find_user, (username,), found)

    def _logged_in(self, client: ControlClient, request_id: int, user: UserRecord) -> None:
        session = self.service.start_session(client, user)
        self.service.reply(client, request_id, self.login_result(session))

    def login_result(self, session: Session) -> dict[str, Any]:
        """What a client learns at login, whichever way it logged in."""
        return {"token": session.token, "user": profile_json(session.user), **self.service.media_ports,
                "heartbeat_interval": self.service.config.heartbeat_interval, "server_time": time.time()}

    def logout(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        user_id = client.session.user_id
        self.service.end_session(client.session, "logged_out")
        self.service.reply(client, request_id)
        # Logged out means logged out: a login token (provider logins) no longer logs anyone in.
        self.service.run_db(lambda storage: storage.delete_login_tokens(user_id), (), _logged_if_failed)

    def get_profile(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        """Your own profile, or that of someone in your room: never a stranger's, so that this
        request cannot tell whether a name exists (everyone else gets one and the same answer).
        Names compare in their mapped form: "ALICE" asks for alice."""
        session = client.session
        username = fields.get("username", session.user.username)
        wanted = username_key(username) or username
        if wanted != (username_key(session.user.username) or session.user.username):
            room = session.room
            member = next((m for m in room.members.values()
                           if (username_key(m.user.username) or m.user.username) == wanted), None) \
                if room is not None else None
            if member is None:
                raise ProtocolError(ErrorCode.NOT_IN_ROOM,
                                    "You can see the profiles of the people in your room only.")
            # Kept current by update_profile: no database read.
            self.service.reply(client, request_id, {"user": profile_json(member.user)})
            return

        def read(storage: Storage) -> tuple[UserRecord | None, list[str]]:
            return storage.get_user(session.user_id), storage.linked_providers(session.user_id)

        def done(found: tuple[UserRecord | None, list[str]] | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
                return
            # Accounts are never deleted; the session's copy stands in should the row be gone.
            user = found[0] or session.user
            # Your own ways in, for a profile page's "link" and "unlink" buttons.
            self.service.reply(client, request_id, {"user": profile_json(user), "linked_providers": found[1],
                                                    "has_password": bool(user.password_hash)})

        self.service.run_db(read, (), done)

    def update_profile(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        session = client.session
        changes: dict[str, Any] = {}
        if "display_name" in fields:
            changes["display_name"] = clean_text(fields["display_name"], "display_name", DISPLAY_NAME_MAX) \
                or session.user.username
        if "signature" in fields:
            changes["signature"] = clean_text(fields["signature"], "signature", SIGNATURE_MAX)
        if "avatar" in fields:
            changes["avatar"] = _decode_avatar(fields["avatar"])

        def update(storage: Storage) -> UserRecord | None:
            """None when the new display name is someone else's user name."""
            name = changes.get("display_name")
            if name is not None and display_name_is_someone_elses(storage, name, session.user_id):
                return None
            return storage.update_profile(session.user_id, **changes)

        def done(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
                return
            if user is None:
                self.service.fail(client, request_id, ErrorCode.BAD_REQUEST, _DISPLAY_NAME_TAKEN)
                return
            if not session.ended:
                before = session.member_json()
                session.set_user(user)
                if session.room is not None and session.member_json() != before:
                    # A new name or avatar: the others' member lists show it.
                    self.service.room_requests.push_members(session.room)
            self.service.reply(client, request_id, {"user": profile_json(user)})

        self.service.run_db(update, (), done)

    def get_avatar(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        """Your own avatar or a room member's, from the session (loaded at login, kept current
        by update_profile): no database read."""
        session = client.session
        user_id = fields["user_id"]
        room = session.room
        target = session if user_id == session.user_id else room.members.get(user_id) if room else None
        if target is None:
            raise ProtocolError(ErrorCode.NOT_IN_ROOM,
                                "You can see the avatars of the people in your room only.")
        avatar = target.user.avatar
        self.service.reply(client, request_id, {
            "user_id": user_id, "avatar": base64.b64encode(avatar).decode() if avatar else "",
            "avatar_hash": target.avatar_hash})


def _decode_avatar(text: str) -> bytes:
    """The image bytes of an uploaded avatar; b"" (no avatar) for ""."""
    # Checked before decoding, so that a huge string costs nothing more.
    if len(text) > (AVATAR_MAX_BYTES * 4) // 3 + 4:
        raise ProtocolError(ErrorCode.AVATAR_TOO_LARGE)
    try:
        avatar = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "The avatar is not valid base64.") from None
    if len(avatar) > AVATAR_MAX_BYTES:
        raise ProtocolError(ErrorCode.AVATAR_TOO_LARGE)
    # Everyone in a room is sent this image: only the formats every client can show.
    if avatar and not is_avatar_image(avatar):
        raise ProtocolError(ErrorCode.BAD_AVATAR)
    return avatar
