"""Short room ids that people can read out and type."""

from __future__ import annotations

import secrets

# No 0/o, 1/l/i: ids are read aloud and typed by hand.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
LENGTH = 6


def new_room_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
