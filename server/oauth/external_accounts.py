"""Which account a provider account logs in to: the one linked to it, else a new one made for it.

Runs on a database worker. A new account never takes an existing one's name: a provider
identity must not silently become someone's password account, so a taken name gets a suffix.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Iterator

from protocol.errors import ProtocolError
from protocol.names import NAME_MAX, checked_username, username_key
from protocol.text_rules import DISPLAY_NAME_MAX, clean_text
from server.account_requests import display_name_is_someone_elses
from server.oauth.provider import ExternalIdentity
from server.storage.errors import IdentityTakenError, NameTakenError
from server.storage.records import UserRecord
from server.storage.storage import Storage

# A new account's name: the hint cut at the first character a user name may not hold.
_NAME_STOP = re.compile(r"[\s@]")
_SUFFIXED_TRIES = 9  # name-2 ... name-9, then random numbers
_RANDOM_TRIES = 5


def account_for_identity(storage: Storage, identity: ExternalIdentity, avatar: bytes | None) -> UserRecord:
    """The linked account; else a new passwordless one, linked, with the provider's name and avatar."""
    user = storage.get_user_by_identity(identity.provider, identity.subject)
    if user is not None:
        return user
    for name in username_candidates(identity):
        display_name = _display_name(storage, identity, name)
        try:
            user = storage.create_user_with_identity(name, username_key(name) or name, display_name,
                                                     identity.provider, identity.subject)
        except NameTakenError:
            continue
        except IdentityTakenError:
            # The same person's first login twice at once: the other one made the account.
            linked = storage.get_user_by_identity(identity.provider, identity.subject)
            if linked is None:
                raise
            return linked
        if avatar:
            user = storage.update_profile(user.id, avatar=avatar)
        return user
    raise NameTakenError("no free user name was found for a new account")


def username_candidates(identity: ExternalIdentity) -> Iterator[str]:
    """Valid user names to try, best first: the provider's hints, then with -2..-9, then random."""
    base = _first_valid(identity.preferred_username, identity.email.split("@")[0], identity.display_name)
    if base is None:
        base = _first_valid(identity.provider, "user")
    assert base is not None
    yield base
    stem = base[:NAME_MAX - 7]
    for n in range(2, _SUFFIXED_TRIES + 1):
        yield f"{stem}-{n}"
    for _ in range(_RANDOM_TRIES):
        yield f"{stem}-{secrets.randbelow(1_000_000):06d}"


def login_token_hash(token: str) -> str:
    """What is stored of a login token (SHA-256, hex): a copy of the database logs nobody in."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue_login_token(storage: Storage, user_id: int, lifetime: float) -> str:
    token = secrets.token_urlsafe(32)
    storage.add_login_token(login_token_hash(token), user_id, time.time() + lifetime)
    return token


def _first_valid(*hints: str) -> str | None:
    for hint in hints:
        cut = _NAME_STOP.split(hint.strip(), maxsplit=1)[0][:NAME_MAX]
        if not cut:
            continue
        try:
            return checked_username(cut)
        except ProtocolError:
            continue
    return None


def _display_name(storage: Storage, identity: ExternalIdentity, username: str) -> str:
    """The provider's name for the person, if it is a fit display name and nobody's user name."""
    try:
        shown = clean_text(identity.display_name[:DISPLAY_NAME_MAX], "display_name", DISPLAY_NAME_MAX)
    except ProtocolError:
        return username
    if not shown or (username_key(shown) != username_key(username)
                     and display_name_is_someone_elses(storage, shown, None)):
        return username
    return shown
