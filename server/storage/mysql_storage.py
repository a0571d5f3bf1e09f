"""Storage on MySQL/MariaDB through mysqlclient, for sites that already run a database server."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import MySQLdb
import MySQLdb.cursors

from server.storage.deadline import ensure_time
from server.storage.errors import (
    IdentityTakenError,
    LastLoginMethodError,
    NameTakenError,
    RoomIdTakenError,
    RoomQuotaError,
    StorageError,
    StorageUnavailable,
)
from server.storage.migrations import migrate_mysql
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

log = logging.getLogger(__name__)

# A dead, unreachable or stalled database must fail a request within its deadline (about 3 s,
# see ServerConfig.db_deadline), never hang a worker: each wait of a connect or a statement is
# bounded, and a step starts only while its longest wait still fits before the deadline.
# Whole seconds: mysqlclient takes no fractions.
CONNECT_TIMEOUT_SECONDS = 1
QUERY_TIMEOUT_SECONDS = 1
# A connect waits for the greeting (CONNECT_TIMEOUT_SECONDS), then reads the login and setup replies.
_CONNECT_NEEDS = CONNECT_TIMEOUT_SECONDS + QUERY_TIMEOUT_SECONDS
# Migrations may rebuild big tables; they get their own connection with room to finish.
MIGRATION_TIMEOUT_SECONDS = 600

_SERVER_GONE = 2006  # CR_SERVER_GONE_ERROR: the connection was closed before we sent
_SERVER_LOST = 2013  # CR_SERVER_LOST: closed, or silent past read_timeout, while we waited
_CONNECTION_LOST = (_SERVER_GONE, _SERVER_LOST)
_DUPLICATE_ENTRY = 1062  # ER_DUP_ENTRY
_NO_REFERENCED_ROW = 1452  # ER_NO_REFERENCED_ROW_2
_BAD_DATABASE = 1049  # ER_BAD_DB_ERROR

# Strict: a value that does not fit is an error, never silently cut. Lock waits give up as soon as
# MariaDB allows (1 s, as long as read_timeout), so that a statement's wait stays bounded.
_SESSION_SETUP = ("SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,"
                  "NO_ENGINE_SUBSTITUTION', SESSION innodb_lock_wait_timeout = 1")

_USER_COLUMNS = "id, username, password_hash, display_name, signature, avatar, created_at"
_USER_COLUMNS_OF_U = ", ".join(f"u.{column}" for column in _USER_COLUMNS.split(", "))
_ROOM_COLUMNS = "room_id, owner_id, title, password_hash, persistent, created_at"

T = TypeVar("T")


class MysqlStorage(Storage):
    """A MySQL/MariaDB database that exists already; the tables are made by the migrations."""

    def __init__(self, host: str, port: int, user: str, password: str, database: str) -> None:
        self._params = {"host": host, "port": port, "user": user, "password": password, "database": database}
        self._database = database
        self._where = f"MySQL database {database!r} at {host}:{port}"
        self._connections: ThreadConnections[Any] = ThreadConnections(self._connect_for_jobs, self._where)
        conn = self._connect(MIGRATION_TIMEOUT_SECONDS)
        try:
            migrate_mysql(conn)
        except MySQLdb.Error as exc:
            raise self._translate(exc, "prepare its tables") from exc
        finally:
            conn.close()

    # -- accounts -----------------------------------------------------------

    def create_user(self, username: str, password_hash: str, display_name: str,
                    username_key: str | None = None) -> UserRecord:
        check_username(username)
        check_profile(display_name, None, None)
        created_at = time.time()
        attempts = 0

        def insert(cursor: Any) -> int:
            nonlocal attempts
            attempts += 1
            try:
                cursor.execute("INSERT INTO users (username, username_key, password_hash, display_name,"
                               " created_at) VALUES (%s, %s, %s, %s, %s)",
                               (username, username_key, password_hash, display_name, created_at))
            except MySQLdb.IntegrityError as exc:
                if exc.args[0] != _DUPLICATE_ENTRY:
                    raise
                if attempts > 1:
                    # The first try may have been stored before its reply was lost; the salted
                    # hash and our own timestamp tell whether the row is ours.
                    cursor.execute("SELECT id FROM users WHERE username = %s AND password_hash = %s"
                                   " AND created_at = %s", (username, password_hash, created_at))
                    row = cursor.fetchone()
                    if row is not None:
                        return row[0]
                # The UNIQUE index decides, so of two registrations racing for a name exactly one wins.
                raise NameTakenError(f"the user name {username!r} is taken") from exc
            return cursor.lastrowid

        user_id = self._run("register a user", insert, write=True)
        return UserRecord(user_id, username, password_hash, display_name, "", None, created_at)

    def get_user_by_name(self, username: str, username_key: str | None = None) -> UserRecord | None:
        user = self._one_user("username = %s", username)
        if user is None and username_key is not None:
            user = self._one_user("username_key = %s", username_key)
        return user

    def users_without_key(self) -> list[tuple[int, str]]:
        rows = self._run("list users without a key", lambda cursor: _fetch_all(
            cursor, "SELECT id, username FROM users WHERE username_key IS NULL ORDER BY id", ()))
        return [(user_id, username.decode("utf-8")) for user_id, username in rows]

    def set_username_key(self, user_id: int, username_key: str) -> bool:
        def update(cursor: Any) -> bool:
            try:
                cursor.execute("UPDATE users SET username_key = %s WHERE id = %s", (username_key, user_id))
            except MySQLdb.IntegrityError as exc:
                if exc.args[0] != _DUPLICATE_ENTRY:
                    raise
                return False
            return True

        return self._run("set a user name key", update, write=True)

    def get_user(self, user_id: int) -> UserRecord | None:
        return self._one_user("id = %s", user_id)

    def update_profile(self, user_id: int, *, display_name: str | None = None,
                       signature: str | None = None, avatar: bytes | None = None) -> UserRecord:
        changes = profile_changes(display_name, signature, avatar)
        if changes:
            # Column names come from the keys above, never from the caller.
            assignments = ", ".join(f"{column} = %s" for column in changes)
            self._run("update a profile", lambda cursor: cursor.execute(
                f"UPDATE users SET {assignments} WHERE id = %s", (*changes.values(), user_id)), write=True)
        user = self.get_user(user_id)
        if user is None:
            raise StorageError(f"there is no user with id {user_id}")
        return user

    # -- logging in through a provider ------------------------------------------

    def get_user_by_identity(self, provider: str, subject: str) -> UserRecord | None:
        row = self._run("read a linked account", lambda cursor: _fetch_one(
            cursor, f"SELECT {_USER_COLUMNS_OF_U} FROM users u JOIN external_identities i ON i.user_id = u.id"
            " WHERE i.provider = %s AND i.subject = %s", (provider, subject)))
        return None if row is None else _user(row)

    def create_user_with_identity(self, username: str, username_key: str, display_name: str,
                                  provider: str, subject: str) -> UserRecord:
        check_username(username)
        check_profile(display_name, None, None)
        check_identity(provider, subject)
        created_at = time.time()
        attempts = 0

        def insert(cursor: Any) -> int:
            nonlocal attempts
            attempts += 1
            if attempts > 1:
                # The first try may have been committed before its reply was lost: ours if the
                # identity is linked to a user made at our own timestamp.
                row = _fetch_one(cursor, "SELECT u.id FROM users u JOIN external_identities i ON"
                                 " i.user_id = u.id WHERE i.provider = %s AND i.subject = %s"
                                 " AND u.created_at = %s", (provider, subject, created_at))
                if row is not None:
                    return row[0]
            try:
                cursor.execute("INSERT INTO users (username, username_key, password_hash, display_name,"
                               " created_at) VALUES (%s, %s, %s, %s, %s)",
                               (username, username_key, NO_PASSWORD, display_name, created_at))
            except MySQLdb.IntegrityError as exc:
                if exc.args[0] != _DUPLICATE_ENTRY:
                    raise
                raise NameTakenError(f"the user name {username!r} is taken") from exc
            user_id = cursor.lastrowid
            _insert_identity(cursor, user_id, provider, subject, created_at)
            return user_id

        user_id = self._run("register a user through a provider", insert, write=True)
        return UserRecord(user_id, username, NO_PASSWORD, display_name, "", None, created_at)

    def link_identity(self, user_id: int, provider: str, subject: str) -> None:
        check_identity(provider, subject)
        linked_at = time.time()
        attempts = 0

        def insert(cursor: Any) -> None:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and _fetch_one(
                    cursor, "SELECT 1 FROM external_identities WHERE provider = %s AND subject = %s"
                    " AND user_id = %s AND linked_at = %s", (provider, subject, user_id, linked_at)):
                return  # our first try, committed before its reply was lost
            _insert_identity(cursor, user_id, provider, subject, linked_at)

        self._run("link a provider account", insert, write=True)

    def unlink_identity(self, user_id: int, provider: str) -> bool:
        def delete(cursor: Any) -> bool:
            # The user's row locked: two unlinks at once cannot each leave the other as the last.
            row = _fetch_one(cursor, "SELECT password_hash FROM users WHERE id = %s FOR UPDATE", (user_id,))
            (linked,) = _fetch_one(cursor, "SELECT COUNT(*) FROM external_identities WHERE user_id = %s"
                                   " AND provider = %s", (user_id, provider))
            if not linked:
                return False
            (others,) = _fetch_one(cursor, "SELECT COUNT(*) FROM external_identities WHERE user_id = %s"
                                   " AND provider <> %s", (user_id, provider))
            if others == 0 and (row is None or row[0] == NO_PASSWORD):
                raise LastLoginMethodError(f"{provider} is user {user_id}'s only way to log in")
            cursor.execute("DELETE FROM external_identities WHERE user_id = %s AND provider = %s",
                           (user_id, provider))
            return True

        return self._run("unlink a provider account", delete, write=True)

    def linked_providers(self, user_id: int) -> list[str]:
        rows = self._run("list linked providers", lambda cursor: _fetch_all(
            cursor, "SELECT provider FROM external_identities WHERE user_id = %s"
            " ORDER BY linked_at, provider", (user_id,)))
        return [provider.decode("utf-8") for (provider,) in rows]

    def add_login_token(self, token_hash: str, user_id: int, expires_at: float) -> None:
        def insert(cursor: Any) -> None:
            cursor.execute("DELETE FROM login_tokens WHERE user_id = %s AND expires_at <= %s",
                           (user_id, time.time()))
            # IGNORE: a retry after a lost reply finds its own row (the hash of 32 random bytes).
            cursor.execute("INSERT IGNORE INTO login_tokens (token_hash, user_id, expires_at)"
                           " VALUES (%s, %s, %s)", (token_hash, user_id, expires_at))

        self._run("keep a login token", insert, write=True)

    def get_user_by_login_token(self, token_hash: str, now: float) -> UserRecord | None:
        row = self._run("read a login token", lambda cursor: _fetch_one(
            cursor, f"SELECT {_USER_COLUMNS_OF_U} FROM users u JOIN login_tokens t ON t.user_id = u.id"
            " WHERE t.token_hash = %s AND t.expires_at > %s", (token_hash, now)))
        return None if row is None else _user(row)

    def delete_login_tokens(self, user_id: int) -> None:
        self._run("forget login tokens", lambda cursor: cursor.execute(
            "DELETE FROM login_tokens WHERE user_id = %s", (user_id,)), write=True)

    def _one_user(self, where: str, value: object) -> UserRecord | None:
        row = self._run("read a user", lambda cursor: _fetch_one(
            cursor, f"SELECT {_USER_COLUMNS} FROM users WHERE {where}", (value,)))
        return None if row is None else _user(row)

    # -- rooms --------------------------------------------------------------

    def create_room(self, room_id: str, owner_id: int, title: str, password_hash: str | None,
                    persistent: bool, persistent_quota: int | None = None) -> RoomRecord:
        check_room(room_id, title)
        created_at = time.time()
        attempts = 0

        def insert(cursor: Any) -> None:
            nonlocal attempts
            attempts += 1
            if persistent and persistent_quota is not None:
                # The owner's row locked: creates of one owner count and insert one after another.
                _fetch_one(cursor, "SELECT id FROM users WHERE id = %s FOR UPDATE", (owner_id,))
                # Not counting this room itself: after a lost reply, our first try may have been kept.
                (kept,) = _fetch_one(cursor, "SELECT COUNT(*) FROM rooms WHERE owner_id = %s"
                                     " AND persistent = 1 AND NOT (room_id = %s AND created_at = %s)",
                                     (owner_id, room_id, created_at))
                if kept >= persistent_quota:
                    raise RoomQuotaError(f"user {owner_id} keeps {kept} persistent rooms already")
            try:
                cursor.execute(f"INSERT INTO rooms ({_ROOM_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
                               (room_id, owner_id, title, password_hash, persistent, created_at))
            except MySQLdb.IntegrityError as exc:
                if exc.args[0] == _NO_REFERENCED_ROW:
                    raise StorageError(f"there is no user with id {owner_id} to own a room") from exc
                if exc.args[0] != _DUPLICATE_ENTRY:
                    raise
                # As in create_user: after a lost reply, the row may be our own first try.
                if attempts > 1 and _fetch_one(
                        cursor, "SELECT 1 FROM rooms WHERE room_id = %s AND owner_id = %s"
                        " AND created_at = %s", (room_id, owner_id, created_at)):
                    return
                raise RoomIdTakenError(f"a room with id {room_id!r} already exists") from exc

        self._run("create a room", insert, write=True)
        return RoomRecord(room_id, owner_id, title, password_hash, persistent, created_at)

    def get_room(self, room_id: str) -> RoomRecord | None:
        row = self._run("read a room", lambda cursor: _fetch_one(
            cursor, f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE room_id = %s", (room_id,)))
        return None if row is None else _room(row)

    def list_persistent_rooms(self, after: RoomCursor | None = None, limit: int | None = None
                              ) -> list[RoomRecord]:
        check_page(after, limit)
        where, args = "persistent = 1", []
        if after is not None:
            where += " AND (created_at > %s OR (created_at = %s AND room_id > %s))"
            args += [after[0], after[0], after[1]]
        return self._list_rooms(where, args, limit)

    def list_temporary_rooms(self) -> list[RoomRecord]:
        return self._list_rooms("persistent = 0", [], None)

    def _list_rooms(self, where: str, args: list[Any], limit: int | None) -> list[RoomRecord]:
        sql = f"SELECT {_ROOM_COLUMNS} FROM rooms WHERE {where} ORDER BY created_at, room_id"
        if limit is not None:
            sql, args = sql + " LIMIT %s", [*args, limit]
        rows = self._run("list rooms", lambda cursor: _fetch_all(cursor, sql, tuple(args)))
        return [_room(row) for row in rows]

    def delete_room(self, room_id: str) -> None:
        # Chat history goes with it: ON DELETE CASCADE.
        self._run("delete a room", lambda cursor: cursor.execute(
            "DELETE FROM rooms WHERE room_id = %s", (room_id,)), write=True)

    # -- chat ---------------------------------------------------------------

    def add_chat_message(self, room_id: str, user_id: int, text: str, sent_at: float) -> None:
        check_chat_text(text)

        def insert(cursor: Any) -> None:
            # A reply lost after the row was stored makes _run try again, and the line then
            # shows twice; a rare duplicate chat line is cheaper than a lost one.
            try:
                cursor.execute("INSERT INTO chat_messages (room_id, user_id, text, sent_at)"
                               " VALUES (%s, %s, %s, %s)", (room_id, user_id, text, sent_at))
            except MySQLdb.IntegrityError as exc:
                raise StorageError(f"no room {room_id!r} or no user {user_id} for a chat message") from exc

        self._run("keep a chat message", insert, write=True)

    def recent_chat(self, room_id: str, limit: int = 50) -> list[ChatRecord]:
        check_chat_limit(limit)
        rows = self._run("read chat history", lambda cursor: _fetch_all(
            cursor,
            "SELECT c.room_id, c.user_id, u.username, u.display_name, c.text, c.sent_at"
            " FROM chat_messages AS c JOIN users AS u ON u.id = c.user_id"
            " WHERE c.room_id = %s ORDER BY c.sent_at DESC, c.id DESC LIMIT %s", (room_id, limit)))
        return [ChatRecord(room.decode("utf-8"), user_id, username.decode("utf-8"), display_name, text,
                           sent_at)
                for room, user_id, username, display_name, text, sent_at in reversed(rows)]

    # -- housekeeping -------------------------------------------------------

    def schema_version(self) -> int:
        row = self._run("read the schema version", lambda cursor: _fetch_one(
            cursor, "SELECT MAX(version) FROM schema_version", ()))
        return int(row[0] or 0)

    def close(self) -> None:
        self._connections.close_all()

    def _connect_for_jobs(self) -> Any:
        ensure_time(_CONNECT_NEEDS, f"connect to {self._where}")
        return self._connect(QUERY_TIMEOUT_SECONDS)

    def _connect(self, timeout: int) -> Any:
        try:
            # utf8mb4, not MySQL's "utf8" (three bytes at most), or emoji in names would not fit.
            return MySQLdb.connect(**self._params, charset="utf8mb4", use_unicode=True, autocommit=True,
                                   connect_timeout=CONNECT_TIMEOUT_SECONDS, read_timeout=timeout,
                                   write_timeout=timeout, init_command=_SESSION_SETUP)
        except MySQLdb.Error as exc:
            raise self._translate(exc, "connect") from exc

    def _run(self, action: str, work: Callable[[Any], T], write: bool = False) -> T:
        """Run work(cursor) on this thread's connection, in a transaction if it writes; a connection
        that the server dropped is reopened once, if the job's deadline leaves time for it."""
        try:
            return self._on_connection(work, write)
        except MySQLdb.Error as exc:
            if not _lost(exc):
                raise self._translate(exc, action) from exc
            # Typically the server closed an idle connection (wait_timeout) or restarted. Not a warning:
            # a database that stays down is logged once, by the worker pool's circuit breaker.
            log.debug("%s: connection lost (%s); reconnecting once", self._where, exc)
        try:
            return self._on_connection(work, write)
        except MySQLdb.Error as exc:
            raise self._translate(exc, action) from exc

    def _on_connection(self, work: Callable[[Any], T], write: bool) -> T:
        conn = self._connections.get()
        cursor = conn.cursor(_DeadlineCursor)
        try:
            if write:
                # Nothing is kept without the COMMIT: a statement that reaches the server late, after
                # its job gave up and closed the connection, is rolled back with that connection.
                cursor.execute("START TRANSACTION")
            result = work(cursor)
            if write:
                cursor.execute("COMMIT")
            return result
        except BaseException as exc:
            self._after_failure(conn, exc, write)
            raise
        finally:
            with contextlib.suppress(MySQLdb.Error):
                cursor.close()

    def _after_failure(self, conn: Any, exc: BaseException, write: bool) -> None:
        """Leave this thread's connection fit for the next job: reopened if lost, no transaction open."""
        if _lost(exc):
            self._connections.discard()
        elif write:
            try:
                ensure_time(QUERY_TIMEOUT_SECONDS, "roll back")
                conn.rollback()
            except (MySQLdb.Error, StorageError):
                self._connections.discard()  # the server rolls back a closed connection's transaction

    def _translate(self, exc: MySQLdb.Error, action: str) -> StorageError:
        """Our error for one of MySQLdb's, worded for the person who runs the server."""
        code = exc.args[0] if exc.args else None
        reason = exc.args[1] if len(exc.args) > 1 else str(exc)
        if code == _BAD_DATABASE:
            return StorageUnavailable(f"{self._where} does not exist; create it with: CREATE DATABASE "
                                      f"`{self._database}` CHARACTER SET utf8mb4")
        if isinstance(exc, (MySQLdb.OperationalError, MySQLdb.InterfaceError)):
            return StorageUnavailable(f"{self._where} is unavailable (could not {action}): {reason}")
        return StorageError(f"{self._where} could not {action}: {reason}")


class _DeadlineCursor(MySQLdb.cursors.Cursor):
    """Starts a statement only while its longest wait (read_timeout) fits before the job's deadline."""

    def execute(self, query: Any, args: Any = None) -> Any:
        ensure_time(QUERY_TIMEOUT_SECONDS, "run a statement")
        return super().execute(query, args)


def _lost(exc: BaseException) -> bool:
    """The connection is gone (closed, reset, or silent past read_timeout): only a new one helps."""
    if isinstance(exc, MySQLdb.InterfaceError):
        return True
    return isinstance(exc, MySQLdb.OperationalError) and bool(exc.args) and exc.args[0] in _CONNECTION_LOST


def _fetch_one(cursor: Any, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
    cursor.execute(sql, args)
    return cursor.fetchone()


def _fetch_all(cursor: Any, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cursor.execute(sql, args)
    return list(cursor.fetchall())


def _user(row: tuple[Any, ...]) -> UserRecord:
    user_id, username, password_hash, display_name, signature, avatar, created_at = row
    # VARBINARY columns come back as bytes (see sql/mysql/0001_init.sql for why they are bytes).
    return UserRecord(user_id, username.decode("utf-8"), password_hash, display_name, signature, avatar,
                      created_at)


def _insert_identity(cursor: Any, user_id: int, provider: str, subject: str, linked_at: float) -> None:
    try:
        cursor.execute("INSERT INTO external_identities (provider, subject, user_id, linked_at)"
                       " VALUES (%s, %s, %s, %s)", (provider, subject, user_id, linked_at))
    except MySQLdb.IntegrityError as exc:
        if exc.args[0] == _NO_REFERENCED_ROW:
            raise StorageError(f"there is no user with id {user_id}") from exc
        if exc.args[0] != _DUPLICATE_ENTRY:
            raise
        raise IdentityTakenError(f"this {provider} account, or user {user_id}'s {provider} link, "
                                 "exists already") from exc


def _room(row: tuple[Any, ...]) -> RoomRecord:
    room_id, owner_id, title, password_hash, persistent, created_at = row
    return RoomRecord(room_id.decode("utf-8"), owner_id, title, password_hash, bool(persistent), created_at)
