"""Control messages: JSON objects with a `type`, a request `id`, typed fields.

A request is `{"type": T, "id": N, ...fields}`; its reply is
`{"type": "reply", "id": N, "result": {...}}` or
`{"type": "reply", "id": N, "error": {"code": C, "message": M}}`.
Pushes from the server carry a `type` and no `id`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from protocol import strict_json
from protocol.errors import ErrorCode, ProtocolError
from protocol.framing import FrameKind, encode_frame

AVATAR_MAX_BYTES = 256 * 1024
# Request ids: integers that every JSON implementation holds exactly (JavaScript's safe range), or
# short strings. Anything else is refused, and the error reply carries "id": null.
REQUEST_ID_MAX = 2**53 - 1
REQUEST_ID_MAX_CHARS = 64
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
    # Logging in through a provider (OpenID Connect, WeChat, QQ): docs/PROTOCOL.md, "Providers".
    "list_providers": {},
    "start_external_login": {"provider": (str, True)},
    "resume_login": {"token": (str, True)},
    "link_provider": {"provider": (str, True)},
    "unlink_provider": {"provider": (str, True)},
    "cancel_external_login": {"ticket": (str, True)},
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
    return encode_frame(FrameKind.CONTROL, strict_json.dumps(message))


def is_request_id(value: object) -> bool:
    """An id a request may carry: a bounded integer (not a boolean) or a short string."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -REQUEST_ID_MAX <= value <= REQUEST_ID_MAX
    return isinstance(value, str) and len(value) <= REQUEST_ID_MAX_CHARS


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
        message = strict_json.loads(payload)
    except strict_json.JsonError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, str(exc)) from None
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "A request must be a JSON object.")
    request_id = message.get("id")
    if not is_request_id(request_id):
        request_id = None
    try:
        kind = message.get("type")
        if not isinstance(kind, str):
            raise ProtocolError(ErrorCode.BAD_REQUEST, "A request needs a string field 'type'.")
        schema = REQUESTS.get(kind)
        if schema is None:
            raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"Unknown request type {kind[:40]!r}.")
        if request_id is None:
            raise ProtocolError(ErrorCode.BAD_REQUEST,
                                f"A request needs a field 'id': an integer of at most {REQUEST_ID_MAX} "
                                f"in size, or a string of at most {REQUEST_ID_MAX_CHARS} characters.")
        return kind, request_id, _typed_fields(kind, schema, message)
    except ProtocolError as exc:
        exc.request_id = request_id
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
