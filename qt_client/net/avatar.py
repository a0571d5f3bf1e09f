"""Avatars travel as base64 text on the wire; callers deal in image bytes."""

from __future__ import annotations

import base64
import binascii
from typing import Any


def encode_avatar(image: bytes) -> str:
    """The wire form of an image (`b""` clears the avatar)."""
    return base64.b64encode(image).decode("ascii")


def decode_avatar(profile: dict[str, Any]) -> bytes:
    """A Profile's avatar as image bytes; `b""` when it has none or the server sent garbage."""
    try:
        return base64.b64decode(profile.get("avatar") or "", validate=True)
    except (binascii.Error, ValueError):
        return b""
