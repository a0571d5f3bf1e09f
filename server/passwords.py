"""Password hashing with argon2id: slow and memory-hard on purpose, so stolen hashes resist guessing.

Hashing costs tens of milliseconds of CPU: call these from the DbWorkerPool, never on an I/O
loop. Passwords are never logged, and never appear in an exception message.
"""

from __future__ import annotations

import logging
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

log = logging.getLogger(__name__)

# OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane): about 20 ms per hash on this project's
# 2-core test machine even while it was busy. The salt (16 random bytes) is made per hash.
# Stored hashes carry their own parameters, so raising these later still verifies old
# hashes, and needs_rehash() says when to store a stronger one at the next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    """A self-describing `$argon2id$...` string to store instead of the password."""
    return _hasher.hash(password)


class _Counter:
    """How many password checks ran: the stats line shows it, and tests see that both login
    failures (unknown name, wrong password) cost one check each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


checks_run = _Counter()


# Made with today's parameters, so that checking against it costs what a real check costs; made
# at import (one hash, once), so that the first unknown name is no slower than the next.
_DUMMY_HASH = _hasher.hash("no account has this password")


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether the password matches; a damaged stored hash never matches (and is logged).

    With no stored hash (no such account, or one without a password) it checks against a dummy
    hash and says False: an unknown name takes as long to refuse as a wrong password, so the time
    tells nothing.
    """
    checks_run.add()
    # "" (storage's NO_PASSWORD): an account made through a login provider, which has no password.
    if not stored_hash:
        _check_dummy(password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except InvalidHashError:
        # The stored value is broken, not the password wrong: say so, so that someone repairs it.
        log.warning("a stored password hash is not a valid argon2 hash; that account cannot log in")
        return False
    except VerificationError:
        # VerifyMismatchError (wrong password) is a subclass of this.
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with weaker parameters than today's and should be replaced."""
    return _hasher.check_needs_rehash(stored_hash)


def _check_dummy(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except VerificationError:
        pass
