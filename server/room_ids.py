"""Room ids that people can read out and type, and that nobody can guess."""

from __future__ import annotations

import math
import secrets

# No 0/o, 1/l/i: ids are read aloud and typed by hand.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
# 31 ** 13 is about 2 ** 64.4: a million addresses each guessing at the limit (100 misses an hour)
# would need decades to hit any one of a million live rooms. Ids of other lengths made before (6
# characters until issue 13) stay valid: a join looks the id up as it is given.
LENGTH = 13
BITS = LENGTH * math.log2(len(ALPHABET))


def new_room_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
