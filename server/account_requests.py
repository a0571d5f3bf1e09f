"""register, login, logout and profiles."""

from __future__ import annotations

import base64
import binascii
import math
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
from server.login_rate_limiter import LoginRateLimiter
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
        self.rate_limiter = LoginRateLimiter()

    def register(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        username, password = fields["username"], fields["password"]
        check_username(username)
        check_password(password)
        display_name = fields.get("display_name") or username
        check_text(display_name, "display_name", DISPLAY_NAME_MAX)

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
        self.service.run_hash(hash_password, (password,), hashed)

    def login(self, client: ControlClient, request_id: int, fields: dict[str, Any]) -> None:
        if client.session is not None:
            raise ProtocolError(ErrorCode.ALREADY_LOGGED_IN)
        username, password = fields["username"], fields["password"]
        wait = self.rate_limiter.retry_after(username, time.monotonic())
        if wait > 0:
            raise ProtocolError(ErrorCode.RATE_LIMITED,
                                f"Too many wrong passwords for this name: try again in {math.ceil(wait)} s.")

        def checked(user: UserRecord | None, password_ok: bool | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
                return
            if client.closed:
                return
            if user is None or not password_ok:
                self.rate_limiter.record_failure(username, time.monotonic())
                self.service.fail(client, request_id,
                                  ErrorCode.UNKNOWN_USER if user is None else ErrorCode.WRONG_PASSWORD)
            elif client.session is not None:
                self.service.fail(client, request_id, ErrorCode.ALREADY_LOGGED_IN)
            else:
                self.rate_limiter.record_success(username)
                self._logged_in(client, request_id, user)

        def found(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None or user is None:
                checked(user, False, error)
            else:
                self.service.run_hash(verify_password, (user.password_hash, password),
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
        username = fields.get("username", client.session.user.username)

        def done(user: UserRecord | None, error: BaseException | None) -> None:
            if error is not None:
                self.service.fail_storage(client, request_id, error)
            elif user is None:
                self.service.fail(client, request_id, ErrorCode.UNKNOWN_USER)
            else:
                self.service.reply(client, request_id, {"user": profile_json(user)})

        self.service.run_db(lambda storage, name: storage.get_user_by_name(name), (username,), done)

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
