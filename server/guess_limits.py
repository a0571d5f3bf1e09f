"""Which guesses are limited, keyed by what: logins, registrations, room passwords and room ids.

Every allowance is a moving window (see server.attempt_limiter). A stranger must not be able to
lock a person out, so the limits that bite first are keyed by the guesser's address; the per-name
and per-room limits are far higher and only stop a guesser spread over many addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from protocol.errors import ErrorCode, ProtocolError
from server.attempt_limiter import Attempt, AttemptLimiter, Limited, LimitRule, key_of
from server.known_good import KnownGood

# Rule name -> allowance in the `limits` notation. docs/PROTOCOL.md states them; a server owner
# changes them with --rate-limit NAME=SPEC ("none" turns one off).
DEFAULT_LIMITS: dict[str, str] = {
    # Wrong passwords for one name from one address. A right password wipes these.
    "login_per_name_and_address": "5/minute;20/hour",
    # Wrong passwords from one address across names: one address spraying many names.
    "login_per_address": "20/minute;100/hour",
    # Wrong passwords for one name from anywhere: only a guesser with many addresses meets it.
    "login_per_name": "100/hour",
    # Registrations from one address, made or refused (NAME_TAKEN tells that a name exists).
    "register_per_address": "20/minute;100/hour",
    # Wrong room passwords, keyed as logins are.
    "room_password_per_room_and_address": "5/minute;20/hour",
    "room_password_per_address": "20/minute;100/hour",
    "room_password_per_room": "100/hour",
    # Joins by an id that names no room, per address and per account.
    "room_id_per_address": "20/minute;100/hour",
    "room_id_per_user": "20/minute;100/hour",
    # Wrong login tokens (resume_login) from one address: a token is 256 random bits, so this only
    # keeps a flood of lookups off the database.
    "login_token_per_address": "20/minute;100/hour",
    # Logins through a provider begun from one address, finished or not: each holds memory for
    # minutes while the person is at the provider.
    "provider_login_per_address": "30/minute;200/hour",
}


# What a refused person is told they did too often, by the rule's first word.
_WHAT = {"login_token": "wrong login tokens", "provider_login": "logins through a provider",
         "login": "wrong user names or passwords", "register": "registrations",
         "room_password": "wrong room passwords", "room_id": "joins by room ids that do not exist"}


# The rules a password guess counts under: per (target, address), per address, per target.
_GUESS_RULES = {
    "login": ("login_per_name_and_address", "login_per_address", "login_per_name"),
    "room_password": ("room_password_per_room_and_address", "room_password_per_address",
                      "room_password_per_room"),
}


def address_key(peer_address: object) -> str:
    """The guesser's address as limits see it: IPv4 as is, IPv6 by its /64 (one subscriber's)."""
    host = peer_address[0] if isinstance(peer_address, tuple) else str(peer_address)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return str(host)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class GuessLimits:
    """One place that says which keys an attempt of each kind counts under."""

    def __init__(self, overrides: Mapping[str, str] | None = None, storage_uri: str = "memory://") -> None:
        unknown = set(overrides or {}) - set(DEFAULT_LIMITS)
        if unknown:
            raise ValueError(f"unknown rate limit {sorted(unknown)[0]!r}; known: {', '.join(DEFAULT_LIMITS)}")
        specs = {**DEFAULT_LIMITS, **(overrides or {})}
        self.rules = {name: LimitRule.parse(name, spec) for name, spec in specs.items()}
        self._limiter = AttemptLimiter(storage_uri)
        # (name, address) and (room, address) pairs whose password was right lately.
        self._known_good = KnownGood()

    def sweep(self) -> None:
        """Forget emptied windows; the server calls this now and then (memory stays bounded)."""
        self._limiter.sweep()

    def login(self, name: str, address: str) -> Attempt:
        """Raises ProtocolError RATE_LIMITED; settle with failed() on a wrong name or password."""
        return self._begin_guess("login", name, address)

    def logged_in(self, name: str, address: str) -> None:
        """A right password: this address's earlier mistakes with this name are forgiven, and the
        name's own limit no longer applies to it."""
        self._right("login", name, address)

    def register(self, address: str) -> None:
        """Count one registration now, made or not (NAME_TAKEN tells too), or raise RATE_LIMITED."""
        self._begin([(self.rules["register_per_address"], address)]).failed()

    def room_password(self, room_id: str, address: str) -> Attempt:
        return self._begin_guess("room_password", room_id, address)

    def room_password_right(self, room_id: str, address: str) -> None:
        self._right("room_password", room_id, address)

    def room_id(self, user_id: int, address: str) -> Attempt:
        """A join by id: settle with failed() when no room has that id."""
        rules = self.rules
        return self._begin([(rules["room_id_per_address"], address),
                            (rules["room_id_per_user"], str(user_id))])

    def login_token(self, address: str) -> Attempt:
        """A resume_login: settle with failed() when no live token matched."""
        return self._begin([(self.rules["login_token_per_address"], address)])

    def provider_login(self, address: str) -> None:
        """Count one login through a provider begun now, or raise RATE_LIMITED."""
        self._begin([(self.rules["provider_login_per_address"], address)]).failed()

    def _begin_guess(self, kind: str, target: str, address: str) -> Attempt:
        """A password guess for a name or a room; the target's own limit spares known-good pairs."""
        per_pair, per_address, per_target = (self.rules[name] for name in _GUESS_RULES[kind])
        pair = key_of(kind, target, address)
        keys = [(per_pair, pair), (per_address, address)]
        if pair not in self._known_good:
            keys.append((per_target, key_of(kind, target)))
        return self._begin(keys)

    def _right(self, kind: str, target: str, address: str) -> None:
        pair = key_of(kind, target, address)
        self._limiter.forget(self.rules[_GUESS_RULES[kind][0]], pair)
        self._known_good.add(pair)

    def _begin(self, keys: list[tuple[LimitRule, str]]) -> Attempt:
        try:
            return self._limiter.begin(keys)
        except Limited as exc:
            what = next((text for prefix, text in _WHAT.items() if exc.rule.startswith(prefix)), "attempts")
            seconds = int(exc.retry_after)
            raise ProtocolError(ErrorCode.RATE_LIMITED, f"Too many {what}: try again in {seconds} s.",
                                retry_after=seconds) from None
