"""register, login, logout and profiles."""

from __future__ import annotations

import base64
import binascii
import time
from typing import TYPE_CHECKING, Any

from protocol.errors import ErrorCode, ProtocolError
from protocol.messages import (
    AVATAR_MAX_BYTES,
    check_password,
    check_text,
    check_username,
    is_avatar_image,
)
from server.passwords import hash_password, verify_password
from server.session import ControlClient
from server.storage.records import UserRecord

if TYPE_CHECKING:
    from server.control_service import ControlService

DISPLAY_NAME_MAX = 64
SIGNATURE_MAX = 200


def profile_json(user: UserRecord) -> dict[str, Any]:
    return {"user_id": user.id, "username": user.username, "display_name": user.display_name,
            "signature": user.signature,
            "avatar": base64.b64encode(user.avatar).decode() if user.avatar else ""}




class AccountRequests:
    """Handlers called by ControlService on the control loop."""

    def __init__(self, service: ControlService) -> None:
        self.service = service

    def register(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        username, password = fields["username"], fields["password"]
        check_username(username)
        check_password(password)
        display_name = fields.get("display_name") or username
        check_text(display_name, "display_name", DISPLAY_NAME_MAX)
        # Counted before the hash: a flood of registrations from one address is refused cheaply.
        self.service.guesses.register(client.address)

        def stored(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
            else:
                self.service.reply(client, request_id, {"user_id": user.id})  # committed: now it is said

        def hashed(password_hash: str | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
            else:
                self.service.run_db(lambda storage: storage.create_user(username, password_hash,
                                                                        display_name), (), stored)

        # Hashing costs tens of milliseconds: on the hashing workers, then the insert on the database's.
        self.service.run_hash(client, hash_password, (password,), hashed)

    def login(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        if client.session is not None:
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN)
        username, password = fields["username"], fields["password"]
        address = client.address
        # Counted before the database or the hash is asked, so that pipelined and parallel guesses
        # are refused as surely as one after another (RATE_LIMITED raised here).
        attempt = self.service.guesses.login(username, address)

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
                self.service.guesses.logged_in(username, address)
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

        self.service.run_db(lambda storage: storage.get_user_by_name(username), (), found)

    def _logged_in(self, client: ControlClient, request_id: int, user: UserRecord) -> None:
        session = self.service.start_session(client, user)
        config = self.service.config
        self.service.reply(client, request_id, {
            "token": session.token, "user": profile_json(user),
            **self.service.media_ports,
            "heartbeat_interval": config.heartbeat_interval, "server_time": time.time()})

    def logout(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        self.service.end_session(client.session, "logged_out")
        self.service.reply(client, request_id)

    def get_profile(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        """Your own profile, or that of someone in your room: never a stranger's, so that this
        request cannot tell whether a name exists (everyone else gets one and the same answer)."""
        session = client.session
        username = fields.get("username", session.user.username)
        if username != session.user.username:
            room = session.room
            member = next((m for m in room.members.values() if m.user.username == username), None) \
                if room is not None else None
            if member is None:
                raise ProtocolError(ErrorCode.NOT_IN_ROOM,
                                    "You can see the profiles of the people in your room only.")
            # Kept current by update_profile: no database read.
            self.service.reply(client, request_id, {"user": profile_json(member.user)})
            return

        def done(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
            else:
                # Accounts are never deleted; the session's copy stands in should the row be gone.
                self.service.reply(client, request_id, {"user": profile_json(user or session.user)})

        self.service.run_db(lambda storage: storage.get_user(session.user_id), (), done)

    def update_profile(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        session = client.session
        changes: dict[str, Any] = {}
        if "display_name" in fields:
            check_text(fields["display_name"], "display_name", DISPLAY_NAME_MAX)
            changes["display_name"] = fields["display_name"] or session.user.username
        if "signature" in fields:
            check_text(fields["signature"], "signature", SIGNATURE_MAX)
            changes["signature"] = fields["signature"]
        if "avatar" in fields:
            changes["avatar"] = _decode_avatar(fields["avatar"])

        def done(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
                return
            if not session.ended:
                before = session.member_json()
                session.set_user(user)
                if session.room is not None and session.member_json() != before:
                    # A new name or avatar: the others' member lists show it.
                    self.service.room_requests.push_members(session.room)
            self.service.reply(client, request_id, {"user": profile_json(user)})

        self.service.run_db(lambda storage: storage.update_profile(session.user_id, **changes), (), done)

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
