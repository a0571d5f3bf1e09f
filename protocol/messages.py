"""Control messages: JSON objects with a `type`, a request `id`, typed fields.

A request is `{"type": T, "id": N, ...fields}`; its reply is
`{"type": "reply", "id": N, "result": {...}}` or
`{"type": "reply", "id": N, "error": {"code": C, "message": M}}`.
Pushes from the server carry a `type` and no `id`.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

from protocol.errors import ErrorCode, ProtocolError
from protocol.framing import FrameKind, encode_frame

NAME_MAX = 32
PASSWORD_MIN, PASSWORD_MAX = 6, 128
TEXT_MAX = 2000
AVATAR_MAX_BYTES = 256 * 1024
# A member's media state (`set_media_state`) until they say otherwise: live, as load bots are.
MEDIA_STATE_DEFAULTS: dict[str, bool] = {"microphone": True, "camera": True, "screen": False}
# What an avatar must start with: PNG's signature or JPEG's start-of-image marker.
AVATAR_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")

# Requests on the control connection: field name -> (type, required).
REQUESTS: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "hello": {"version": (int, True), "client": (str, False)},
    "register": {"username": (str, True), "password": (str, True), "display_name": (str, False)},
    "login": {"username": (str, True), "password": (str, True)},
    "logout": {},
    "get_profile": {"username": (str, False)},
    "update_profile": {"display_name": (str, False), "signature": (str, False), "avatar": (str, False)},
    "create_room": {"title": (str, False), "password": (str, False), "persistent": (bool, False)},
    "join_room": {"room_id": (str, True), "password": (str, False)},
    "leave_room": {},
    "list_rooms": {"cursor": (str, False), "limit": (int, False)},
    "chat": {"text": (str, True)},
    "heartbeat": {},
    "time_sync": {"client_time": ((int, float), True)},
    "request_keyframe": {"user_id": (int, True), "source": (str, False)},
    "set_media_state": {"microphone": (bool, False), "camera": (bool, False), "screen": (bool, False)},
    "get_avatar": {"user_id": (int, True)},
    # The first and only request on an audio or video connection.
    "media_hello": {"token": (str, True), "stream": (str, True)},
}


def avatar_hash(avatar: bytes | None) -> str:
    """What member entries carry instead of the image: it changes when the image does."""
    return hashlib.sha256(avatar).hexdigest()[:16] if avatar else ""


def is_avatar_image(data: bytes) -> bool:
    return data.startswith(AVATAR_MAGIC)


def encode_message(message: dict[str, Any]) -> bytes:
    """A control message as a whole frame."""
    return encode_frame(FrameKind.CONTROL, json.dumps(message, separators=(",", ":")).encode())


def reply(request_id: Any, result: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "reply", "id": request_id, "result": result or {}}


def error_reply(request_id: Any, error: ProtocolError) -> dict[str, Any]:
    return {"type": "reply", "id": request_id, "error": error.to_json()}


def decode_request(payload: bytes | memoryview) -> tuple[str, Any, dict[str, Any]]:
    """(type, id, fields) of a control request, or ProtocolError saying what is wrong.

    The id is returned even when the rest is bad, so that the error reply can
    name the request it answers (it is None when it cannot be read).
    """
    try:
        message = json.loads(bytes(payload))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "The request is not valid JSON.") from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "A request must be a JSON object.")
    request_id = message.get("id")
    try:
        kind = message.get("type")
        if not isinstance(kind, str):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A request needs a string field 'type'.")
        schema = REQUESTS.get(kind)
        if schema is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"Unknown request type {kind[:40]!r}.")
        if not isinstance(request_id, int) or isinstance(request_id, bool):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A request needs an integer field 'id'.")
        return kind, request_id, _typed_fields(kind, schema, message)
    except ProtocolError as exc:
        exc.request_id = request_id if isinstance(request_id, int) else None
        raise


def _typed_fields(kind: str, schema: dict, message: dict[str, Any]) -> dict[str, Any]:
    fields = {}
    for name, (expected, required) in schema.items():
        if name not in message or message[name] is None:
            if required:
                raise ProtocolError(ErrorCode.BAD_REQUEST, f"'{kind}' needs the field '{name}'.")
            continue
        value = message[name]
        # bool is an int in Python; a JSON true is not a number here.
        if isinstance(value, bool) and expected is not bool:
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"Field '{name}' of '{kind}' has the wrong type.")
        if not isinstance(value, expected):
            raise ProtocolError(ErrorCode.BAD_REQUEST, f"Field '{name}' of '{kind}' has the wrong type.")
        fields[name] = value
    return fields


def check_username(name: str) -> None:
    """Names are kept exactly as given; these rules only refuse what would confuse people."""
    if not 1 <= len(name) <= NAME_MAX or name != name.strip() or any(
            unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
        raise ProtocolError(ErrorCode.INVALID_NAME)


def check_password(password: str) -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise ProtocolError(ErrorCode.INVALID_PASSWORD)


def check_text(text: str, field: str, limit: int = TEXT_MAX) -> None:
    if len(text) > limit:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"'{field}' is longer than {limit} characters.")
