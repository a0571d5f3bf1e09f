"""The one storage interface the server talks to, whatever database sits behind it."""

from __future__ import annotations

import string
from abc import ABC, abstractmethod
from typing import Any

from server.storage.records import ChatRecord, RoomRecord, UserRecord

# Limits shared by every engine, so that a name that fits in SQLite also fits in MySQL.
MAX_USERNAME_CHARS = 64
MAX_DISPLAY_NAME_CHARS = 64
MAX_SIGNATURE_CHARS = 255
MAX_AVATAR_BYTES = 256 * 1024
MAX_ROOM_ID_CHARS = 64
MAX_TITLE_CHARS = 128
MAX_CHAT_CHARS = 4000

# The password hash of an account made through a provider: it has no password, and no password
# matches it (server/passwords.py).
NO_PASSWORD = ""
MAX_PROVIDER_CHARS = 64
MAX_SUBJECT_CHARS = 255

# Where a page of rooms ends: (created_at, room_id) of its last room, the order rooms are listed in.
RoomCursor = tuple[float, str]

# Room ids are typed by people into a "join" box: printable ASCII, no spaces.
_ROOM_ID_CHARS = frozenset(string.ascii_letters + string.digits + string.punctuation)


class Storage(ABC):
    """Accounts, rooms and chat history.

    Methods block, so they run only on worker threads (see DbWorkerPool), never on an
    I/O loop; every implementation is safe to call from several threads at once.
    Arguments outside the limits above raise ValueError: callers validate user input
    first, and this is the last line of defence.
    """

    @abstractmethod
    def create_user(self, username: str, password_hash: str, display_name: str,
                    username_key: str | None = None) -> UserRecord:
        """Register a name exactly as given (case and Unicode kept); NameTakenError if the name, or
        the key (the form that identifies an account, see protocol.names), is taken already."""

    @abstractmethod
    def get_user_by_name(self, username: str, username_key: str | None = None) -> UserRecord | None:
        """The account with exactly this name, else the one whose key is `username_key`, or None.
        Exact first: an account from before keys existed, whose key another holds, is still found."""

    @abstractmethod
    def users_without_key(self) -> list[tuple[int, str]]:
        """(id, username) of accounts that have no key yet, oldest first."""

    @abstractmethod
    def set_username_key(self, user_id: int, username_key: str) -> bool:
        """Give an account its key; False (nothing changed) if another account holds that key."""

    @abstractmethod
    def get_user(self, user_id: int) -> UserRecord | None:
        """The account with this id, or None."""

    @abstractmethod
    def update_profile(self, user_id: int, *, display_name: str | None = None,
                       signature: str | None = None, avatar: bytes | None = None) -> UserRecord:
        """Change the given fields (None leaves one as it is; b"" removes the avatar)."""

    # -- logging in through a provider (OpenID Connect, WeChat, QQ) -------------

    @abstractmethod
    def get_user_by_identity(self, provider: str, subject: str) -> UserRecord | None:
        """The account this provider account is linked to, or None."""

    @abstractmethod
    def create_user_with_identity(self, username: str, username_key: str, display_name: str,
                                  provider: str, subject: str) -> UserRecord:
        """A new account without a password (password_hash NO_PASSWORD), linked to the provider
        account, in one transaction. NameTakenError if the name is taken; IdentityTakenError if
        the provider account got linked meanwhile (two first logins at once)."""

    @abstractmethod
    def link_identity(self, user_id: int, provider: str, subject: str) -> None:
        """Link a provider account to an existing account; IdentityTakenError if it is linked
        already (to anyone) or the user has an account of that provider."""

    @abstractmethod
    def unlink_identity(self, user_id: int, provider: str) -> bool:
        """Unlink the user's account of that provider; False if there was none. Raises
        LastLoginMethodError, changing nothing, if it is the account's only way to log in."""

    @abstractmethod
    def linked_providers(self, user_id: int) -> list[str]:
        """The providers the account can log in through, by name."""

    @abstractmethod
    def add_login_token(self, token_hash: str, user_id: int, expires_at: float) -> None:
        """Keep a login token's hash (and forget the user's expired ones)."""

    @abstractmethod
    def get_user_by_login_token(self, token_hash: str, now: float) -> UserRecord | None:
        """The account whose unexpired login token has this hash, or None."""

    @abstractmethod
    def delete_login_tokens(self, user_id: int) -> None:
        """Forget every login token of the account (it logged out)."""

    @abstractmethod
    def create_room(self, room_id: str, owner_id: int, title: str, password_hash: str | None,
                    persistent: bool, persistent_quota: int | None = None) -> RoomRecord:
        """Store a new room; RoomIdTakenError if the id is in use. With `persistent_quota`, a
        persistent room whose owner keeps that many already raises RoomQuotaError: counted and
        stored in one transaction, so that creates racing each other cannot pass the quota."""

    @abstractmethod
    def get_room(self, room_id: str) -> RoomRecord | None:
        """The room with this id, or None."""

    @abstractmethod
    def list_persistent_rooms(self, after: RoomCursor | None = None, limit: int | None = None
                              ) -> list[RoomRecord]:
        """Rooms that outlive a server restart, oldest first: with `after` (the `cursor` of the last
        room of a page), only those that follow it; at most `limit` of them."""

    @abstractmethod
    def list_temporary_rooms(self) -> list[RoomRecord]:
        """Rooms kept only while they are live, oldest first: after a restart, members may rejoin
        them for a grace period; those still empty then are deleted."""

    @abstractmethod
    def delete_room(self, room_id: str) -> None:
        """Remove a room and its chat history; a missing room is not an error."""

    @abstractmethod
    def add_chat_message(self, room_id: str, user_id: int, text: str, sent_at: float) -> None:
        """Keep a chat line so that people who join later can read back."""

    @abstractmethod
    def recent_chat(self, room_id: str, limit: int = 50) -> list[ChatRecord]:
        """The last `limit` chat lines of a room, oldest first."""

    @abstractmethod
    def schema_version(self) -> int:
        """The number of the newest migration applied to this database."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection; later calls raise StorageError."""


def check_username(username: str) -> None:
    if not 1 <= len(username) <= MAX_USERNAME_CHARS:
        raise ValueError(f"user name must have 1 to {MAX_USERNAME_CHARS} characters, not {len(username)}")


def check_profile(display_name: str | None, signature: str | None, avatar: bytes | None) -> None:
    _check_length("display name", display_name, MAX_DISPLAY_NAME_CHARS)
    _check_length("signature", signature, MAX_SIGNATURE_CHARS)
    if avatar is not None and len(avatar) > MAX_AVATAR_BYTES:
        raise ValueError(f"avatar is {len(avatar)} bytes; at most {MAX_AVATAR_BYTES} are kept")


def profile_changes(display_name: str | None, signature: str | None,
                    avatar: bytes | None) -> dict[str, Any]:
    """The columns an update_profile call sets (None: unchanged; an empty avatar clears it)."""
    check_profile(display_name, signature, avatar)
    changes: dict[str, Any] = {}
    if display_name is not None:
        changes["display_name"] = display_name
    if signature is not None:
        changes["signature"] = signature
    if avatar is not None:
        changes["avatar"] = bytes(avatar) or None
    return changes


def check_room(room_id: str, title: str) -> None:
    if not 1 <= len(room_id) <= MAX_ROOM_ID_CHARS or not set(room_id) <= _ROOM_ID_CHARS:
        raise ValueError(f"room id must be 1 to {MAX_ROOM_ID_CHARS} printable ASCII characters without "
                         f"spaces, not {room_id!r}")
    _check_length("room title", title, MAX_TITLE_CHARS)


def check_page(after: RoomCursor | None, limit: int | None) -> None:
    if limit is not None and limit < 1:
        raise ValueError(f"a page holds at least one room, not {limit}")
    if after is not None and not (isinstance(after[0], float) and isinstance(after[1], str)):
        raise ValueError(f"a room cursor is (created_at, room_id), not {after!r}")


def room_cursor(room: RoomRecord) -> RoomCursor:
    return room.created_at, room.room_id


def check_chat_text(text: str) -> None:
    _check_length("chat message", text, MAX_CHAT_CHARS)


def check_chat_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"chat limit must not be negative, not {limit}")


def _check_length(what: str, value: str | bytes | None, most: int) -> None:
    if value is not None and len(value) > most:
        raise ValueError(f"{what} has {len(value)} characters; at most {most} are kept")


def check_identity(provider: str, subject: str) -> None:
    # In UTF-8 bytes: MySQL keeps both as VARBINARY.
    _check_length("provider (UTF-8 bytes)", provider.encode("utf-8", "surrogatepass"), MAX_PROVIDER_CHARS)
    _check_length("subject (UTF-8 bytes)", subject.encode("utf-8", "surrogatepass"), MAX_SUBJECT_CHARS)
    if not provider or not subject:
        raise ValueError("a provider account needs a provider and a subject")
