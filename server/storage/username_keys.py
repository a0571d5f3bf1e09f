"""Keys for accounts registered before user names had them (sql/*/0002_username_keys.sql).

Each old account gets the key of its exact name, oldest account first, so that it can log in
with any case or Unicode form of its name from now on. Two old accounts whose names now map to
one key ("Bob" and "bob"): the older keeps the key, the newer keeps its exact name only (it
still logs in by typing it exactly) and is logged once per start. A name the rules refuse
(with a space, say) keeps no key and logs in by its exact form, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from server.storage.storage import Storage

log = logging.getLogger(__name__)


def add_missing_username_keys(storage: Storage, key_of: Callable[[str], str | None]) -> int:
    """Give every account without a key the key of its name, where it is free; returns how many."""
    added = 0
    for user_id, username in storage.users_without_key():
        key = key_of(username)
        if key is None:
            continue
        if storage.set_username_key(user_id, key):
            added += 1
        else:
            log.warning("user %d (%r): another account already has the name %r in another case or "
                        "form; this one logs in only by its exact name", user_id, username, key)
    if added:
        log.info("%d accounts from before user name keys got theirs", added)
    return added
