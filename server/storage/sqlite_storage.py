"""Storage on the standard library's SQLite: the embedded default, one file and nothing to install."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from server.storage.deadline import ensure_time, time_left
from server.storage.errors import (
    IdentityTakenError,
    LastLoginMethodError,
    NameTakenError,
    RoomIdTakenError,
    RoomQuotaError,
    StorageError,
    StorageUnavailable,
)
from server.storage.migrations import migrate_sqlite
from server.storage.records import ChatRecord, RoomRecord, UserRecord
from server.storage.storage import (
    NO_PASSWORD,
    RoomCursor,
    Storage,
    check_chat_limit,
    check_chat_text,
    check_identity,
    check_page,
    check_profile,
    check_room,
    check_username,
    profile_changes,
)
from server.storage.thread_connections import ThreadConnections

# How long a writer waits for another thread's or process's write lock before giving up; a job
# run by the worker pool waits no longer than its deadline allows.
BUSY_TIMEOUT_SECONDS = 5.0

_USER_COLUMNS = "id, username, password_hash, display_name, signature, avatar, created_at"
_USER_COLUMNS_OF_U = ", ".join(f"u.{column}" for column in _USER_COLUMNS.split(", "))
_ROOM_COLUMNS = "room_id, owner_id, title, password_hash, persistent, created_at"


class SqliteStorage(Storage):
    """One SQLite file in WAL mode, so that readers never wait for the writer."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create the folder for the database {self.path}: "
                                     f"{exc.strerror}") from exc
        self._connections: ThreadConnections[sqlite3.Connection] = ThreadConnections(
            self._connect, f"SQLite database {self.path}")
        try:
            with self._errors("prepare its tables"):
                conn = self._connections.get()
                # WAL is remembered by the file itself; setting it once per open is enough.
                conn.execute("PRAGMA journal_mode = WAL")
                migrate_sqlite(conn)
        except BaseException:
            self._connections.close_all()
            raise

    # -- accounts -----------------------------------------------------------

    def create_user(self, username: str, password_hash: str, display_name: str,
                    username_key: str | None = None) -> UserRecord:
        check_username(username)
        check_profile(display_name, None, None)
        created_at = time.time()
        with self._errors("register a user"):
            try:
                cursor = self._conn().execute(
                    "INSERT INTO users (username, username_key, password_hash, display_name, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (username, username_key, password_hash, display_name, created_at))
            except sqlite3.IntegrityError as exc:
                # The UNIQUE index decides, so of two registrations racing for a name exactly one wins.
                raise NameTakenError(f"the user name {username!r} is taken") from exc
        return UserRecord(cursor.lastrowid, username, password_hash, display_name, "", None, created_at)

    def get_user_by_name(self, username: str, username_key: str | None = None) -> UserRecord | None:
        user = self._one_user("username = ?", username)
        if user is None and username_key is not None:
            user = self._one_user("username_key = ?", username_key)
        return user

    def users_without_key(self) -> list[tuple[int, str]]:
        with self._errors("list users without a key"):
            rows = self._conn().execute(
                "SELECT id, username FROM users WHERE username_key IS NULL ORDER BY id").fetchall()
        return [(user_id, username) for user_id, username in rows]

    def set_username_key(self, user_id: int, username_key: str) -> bool:
        with self._errors("set a user name key"):
            try:
                self._conn().execute("UPDATE users SET username_key = ? WHERE id = ?",
                                     (username_key, user_id))
            except sqlite3.IntegrityError:
                return False
        return True

    def get_user(self, user_id: int) -> UserRecord | None:
        return self._one_user("id = ?", user_id)

    def update_profile(self, user_id: int, *, display_name: str | None = None,
                       signature: str | None = None, avatar: bytes | None = None) -> UserRecord:
        changes = profile_changes(display_name, signature, avatar)
        if changes:
            # Column names come from the keys above, never from the caller.
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with self._errors("update a profile"):
                self._conn().execute(f"UPDATE users SET {assignments} WHERE id = ?",
                                                (*changes.values(), user_id))
        user = self.get_user(user_id)
        if user is None:
            raise StorageError(f"there is no user with id {user_id}")
        return user

    # -- logging in through a provider ------------------------------------------

    def get_user_by_identity(self, provider: str, subject: str) -> UserRecord | None:
        with self._errors("read a linked account"):
            row = self._conn().execute(
                f"SELECT {_USER_COLUMNS_OF_U} FROM users u JOIN external_identities i ON i.user_id = u.id"
                " WHERE i.provider = ? AND i.subject = ?", (provider, subject)).fetchone()
        return None if row is None else UserRecord(*row)

    def create_user_with_identity(self, username: str, username_key: str, display_name: str,
                                  provider: str, subject: str) -> UserRecord:
        check_username(username)
        check_profile(display_name, None, None)
        check_identity(provider, subject)
        created_at = time.time()
        with self._errors("register a user through a provider"), self._transaction() as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO users (username, username_key, password_hash, display_name, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (username, username_key, NO_PASSWORD, display_name, created_at))
            except sqlite3.IntegrityError as exc:
                raise NameTakenError(f"the user name {username!r} is taken") from exc
            self._insert_identity(conn, cursor.lastrowid, provider, subject, created_at)
        return UserRecord(cursor.lastrowid, username, NO_PASSWORD, display_name, "", None, created_at)

    def link_identity(self, user_id: int, provider: str, subject: str) -> None:
        check_identity(provider, subject)
        with self._errors("link a provider account"), self._transaction() as conn:
            self._insert_identity(conn, user_id, provider, subject, time.time())

    @staticmethod
    def _insert_identity(conn: sqlite3.Connection, user_id: int, provider: str, subject: str,
                         linked_at: float) -> None:
        try:
            conn.execute("INSERT INTO external_identities (provider, subject, user_id, linked_at)"
                         " VALUES (?, ?, ?, ?)", (provider, subject, user_id, linked_at))
        except sqlite3.IntegrityError as exc:
            if exc.sqlite_errorname == "SQLITE_CONSTRAINT_FOREIGNKEY":
                raise StorageError(f"there is no user with id {user_id}") from exc
            raise IdentityTakenError(f"this {provider} account, or user {user_id}'s {provider} link, "
                                     "exists already") from exc

    def unlink_identity(self, user_id: int, provider: str) -> bool:
        with self._errors("unlink a provider account"), self._transaction() as conn:
            if conn.execute("SELECT 1 FROM external_identities WHERE user_id = ? AND provider = ?",
                            (user_id, provider)).fetchone() is None:
                return False
            (others,) = conn.execute("SELECT COUNT(*) FROM external_identities WHERE user_id = ?"
                                     " AND provider <> ?", (user_id, provider)).fetchone()
            row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
            if others == 0 and (row is None or row[0] == NO_PASSWORD):
                raise LastLoginMethodError(f"{provider} is user {user_id}'s only way to log in")
            conn.execute("DELETE FROM external_identities WHERE user_id = ? AND provider = ?",
                         (user_id, provider))
        return True

    def linked_providers(self, user_id: int) -> list[str]:
        with self._errors("list linked providers"):
            rows = self._conn().execute("SELECT provider FROM external_identities WHERE user_id = ?"
                                        " ORDER BY linked_at, provider", (user_id,)).fetchall()
        return [provider for (provider,) in rows]

    def add_login_token(self, token_hash: str, user_id: int, expires_at: float) -> None:
        with self._errors("keep a login token"), self._transaction() as conn:
            conn.execute("DELETE FROM login_tokens WHERE user_id = ? AND expires_at <= ?",
                         (user_id, time.time()))
            conn.execute("INSERT INTO login_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)",
                         (token_hash, user_id, expires_at))

    def get_user_by_login_token(self, token_hash: str, now: float) -> UserRecord | None:
        with self._errors("read a login token"):
            row = self._conn().execute(
                f"SELECT {_USER_COLUMNS_OF_U} FROM users u JOIN login_tokens t ON t.user_id = u.id"
                " WHERE t.token_hash = ? AND t.expires_at > ?", (token_hash, now)).fetchone()
        return None if row is None else UserRecord(*row)

    def delete_login_tokens(self, user_id: int) -> None:
        with self._errors("forget login tokens"):
            self._conn().execute("DELETE FROM login_tokens WHERE user_id = ?", (user_id,))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE (the write lock from the start) ... COMMIT, or ROLLBACK on any error."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def _one_user(self, where: str, value: object) -> UserRecord | None:
        with self._errors("read a user"):
            row = self._conn().execute(
                f"SELECT {_USER_COLUMNS} FROM users WHERE {where}", (value,)).fetchone()
        return None if row is None else UserRecord(*row)

    # -- rooms --------------------------------------------------------------

    def create_room(self, room_id: str, owner_id: int, title: str, password_hash: str | None,
                    persistent: bool, persistent_quota: int | None = None) -> RoomRecord:
        check_room(room_id, title)
        created_at = time.time()
        with self._errors("create a room"):
            conn = self._conn()
            # IMMEDIATE: the write lock from the start, so that no other create counts meanwhile.
            conn.execute("BEGIN IMMEDIATE")
            try:
                if persistent and persistent_quota is not None:
                    (kept,) = conn.execute("SELECT COUNT(*) FROM rooms WHERE owner_id = ? AND persistent = 1",
                                           (owner_id,)).fetchone()
                    if kept >= persistent_quota:
                        raise RoomQuotaError(f"user {owner_id} keeps {kept} persistent rooms already")
                conn.execute(
                    f"INSERT INTO rooms ({_ROOM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (room_id, owner_id, title, password_hash, int(persistent), created_at))
                conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError):
                    if exc.sqlite_errorname == "SQLITE_CONSTRAINT_FOREIGNKEY":
                        raise StorageError(f"there is no user with id {owner_id} to own a room") from exc
                    raise RoomIdTakenError(f"a room with id {room_id!r} already exists") from exc
                raise
        return RoomRecord(room_id, owner_id, title, password_hash, persistent, created_at)

    def get_room(self, room_id: str) -> RoomRecord | None:
        with self._errors("read a room"):
            row = self._conn().execute(
                f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_id = ?", (room_id,)).fetchone()
        return None if row is None else _room(row)

    def list_persistent_rooms(self, after: RoomCursor | None = None, limit: int | None = None
                              ) -> list[RoomRecord]:
        check_page(after, limit)
        where, args = "persistent = 1", []
        if after is not None:
            where += " AND (created_at > ? OR (created_at = ? AND room_id > ?))"
            args += [after[0], after[0], after[1]]
        return self._list_rooms(where, args, limit)

    def list_temporary_rooms(self) -> list[RoomRecord]:
        return self._list_rooms("persistent = 0", [], None)

    def _list_rooms(self, where: str, args: list[Any], limit: int | None) -> list[RoomRecord]:
        if limit is not None:
            args = [*args, limit]
        with self._errors("list rooms"):
            rows = self._conn().execute(
                f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE {where} ORDER BY created_at, room_id"
                + (" LIMIT ?" if limit is not None else ""), args).fetchall()
        return [_room(row) for row in rows]

    def delete_room(self, room_id: str) -> None:
        with self._errors("delete a room"):
            # Chat history goes with it: ON DELETE CASCADE, with foreign keys on in _connect.
            self._conn().execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))

    # -- chat ---------------------------------------------------------------

    def add_chat_message(self, room_id: str, user_id: int, text: str, sent_at: float) -> None:
        check_chat_text(text)
        with self._errors("keep a chat message"):
            try:
                self._conn().execute(
                    "INSERT INTO chat_messages (room_id, user_id, text, sent_at) VALUES (?, ?, ?, ?)",
                    (room_id, user_id, text, sent_at))
            except sqlite3.IntegrityError as exc:
                raise StorageError(f"no room {room_id!r} or no user {user_id} for a chat message") from exc

    def recent_chat(self, room_id: str, limit: int = 50) -> list[ChatRecord]:
        check_chat_limit(limit)
        with self._errors("read chat history"):
            rows = self._conn().execute(
                "SELECT c.room_id, c.user_id, u.username, u.display_name, c.text, c.sent_at"
                " FROM chat_messages AS c JOIN users AS u ON u.id = c.user_id"
                " WHERE c.room_id = ? ORDER BY c.sent_at DESC, c.id DESC LIMIT ?",
                (room_id, limit)).fetchall()
        return [ChatRecord(*row) for row in reversed(rows)]

    # -- housekeeping -------------------------------------------------------

    def schema_version(self) -> int:
        with self._errors("read the schema version"):
            (version,) = self._conn().execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(version or 0)

    def close(self) -> None:
        self._connections.close_all()

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection, waiting for another writer's lock no longer than the job's
        deadline allows (see server.storage.deadline)."""
        conn = self._connections.get()
        left = time_left()
        if left is not None:
            ensure_time(0.0, "wait for the database file")
        wait = BUSY_TIMEOUT_SECONDS if left is None else min(BUSY_TIMEOUT_SECONDS, left)
        conn.execute(f"PRAGMA busy_timeout = {max(1, int(wait * 1000))}")
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            # timeout is SQLite's busy_timeout. isolation_level=None: no hidden BEGINs, so each
            # statement commits alone and migrations open their own transactions.
            # check_same_thread=False only so that close() may close every thread's connection.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                   check_same_thread=False)
            # Both are per connection: SQLite forgets them on every open.
            conn.execute("PRAGMA foreign_keys = ON")
            # With WAL, NORMAL survives a crashed process; only a power cut may lose the last commits.
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open the SQLite database {self.path}: {exc}") from exc
        return conn

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn sqlite3's errors into ours, naming the file and what we were doing."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            # Locked past the busy timeout, disk full, file gone or unreadable.
            raise StorageUnavailable(f"SQLite database {self.path} could not {action}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StorageError(f"SQLite database {self.path} could not {action}: {exc}") from exc


def _room(row: tuple[Any, ...]) -> RoomRecord:
    room_id, owner_id, title, password_hash, persistent, created_at = row
    return RoomRecord(room_id, owner_id, title, password_hash, bool(persistent), created_at)
