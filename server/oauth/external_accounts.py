"""The account made for a provider account at its first login (later ones find it linked).

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


def new_account_for_identity(storage: Storage, identity: ExternalIdentity,
                             avatar: bytes | None) -> UserRecord:
    """A new passwordless account linked to the provider account, with its name and avatar (or, when
    the same person's first login ran twice at once, the account the other one made)."""
    shown = _fit_display_name(storage, identity)
    for name in username_candidates(identity):
        try:
            user = storage.create_user_with_identity(name, username_key(name) or name, shown or name,
                                                     identity.provider, identity.subject)
        except NameTakenError:
            continue
        except IdentityTakenError:
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


def _fit_display_name(storage: Storage, identity: ExternalIdentity) -> str | None:
    """The provider's name for the person, if it is a fit display name and nobody's user name (were it
    the new account's own name, that name would be taken and another tried); None: use the user name."""
    try:
        shown = clean_text(identity.display_name[:DISPLAY_NAME_MAX], "display_name", DISPLAY_NAME_MAX)
    except ProtocolError:
        return None
    if not shown or display_name_is_someone_elses(storage, shown, None):
        return None
    return shown
