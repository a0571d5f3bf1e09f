"""Accounts, rooms and chat history behind one interface; `open_storage` picks the engine by URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, unquote, urlsplit

from protocol.names import username_key
from server.storage.errors import (
    NameTakenError,
    RoomIdTakenError,
    RoomQuotaError,
    StorageError,
    StorageUnavailable,
)
from server.storage.records import ChatRecord, RoomRecord, UserRecord
from server.storage.sqlite_storage import SqliteStorage
from server.storage.storage import Storage
from server.storage.username_keys import add_missing_username_keys

__all__ = [
    "DEFAULT_DB_URL",
    "ChatRecord",
    "NameTakenError",
    "RoomIdTakenError",
    "RoomQuotaError",
    "RoomRecord",
    "Storage",
    "StorageError",
    "StorageUnavailable",
    "UserRecord",
    "open_storage",
]

# Relative to the directory the server starts in.
DEFAULT_DB_URL = "sqlite:///data/meeting.db"

_URL_FORMS = "use sqlite:///relative/path.db, sqlite:////absolute/path.db or mysql://user:password@host:port/db"


def open_storage(url: str) -> Storage:
    """Open (and migrate) the database a URL names; a malformed URL raises ValueError."""
    storage = _open_engine(url)
    try:
        add_missing_username_keys(storage, username_key)
    except BaseException:
        storage.close()
        raise
    return storage


def _open_engine(url: str) -> Storage:
    if url.startswith("sqlite:"):
        return SqliteStorage(_sqlite_path(url))
    if url.startswith(("mysql:", "mariadb:")):
        # Imported here so that SQLite users need no MySQL client library.
        from server.storage.mysql_storage import MysqlStorage

        return MysqlStorage(**_mysql_params(url))
    if ":" not in url:
        raise ValueError(f"database URL {url!r} has no scheme; {_URL_FORMS}")
    scheme = url.split(":", 1)[0]
    raise ValueError(f"unsupported database URL {_masked(url)!r} (scheme {scheme!r}); {_URL_FORMS}")


def _sqlite_path(url: str) -> str:
    # Three slashes then the path, as SQLAlchemy spells it: a fourth slash makes it absolute.
    # The path is taken literally (no %-decoding), so any file name works.
    rest = url[len("sqlite:"):]
    if not rest.startswith("///") or len(rest) == 3:
        raise ValueError(f"bad SQLite URL {url!r}: {_URL_FORMS}")
    return rest[3:]


def _mysql_params(url: str) -> dict[str, Any]:
    masked = _masked(url)
    parts = urlsplit(url)
    try:
        port = 3306 if parts.port is None else parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in MySQL URL {masked!r} ({exc}); {_URL_FORMS}") from exc
    database = parts.path.removeprefix("/")
    problems = [
        problem for problem, bad in [
            ("no user name", not parts.username),
            ("no host", not parts.hostname),
            ("no database name", not database),
            ("a database name with a slash", "/" in database),
            ("a query or fragment, which are not supported", bool(parts.query or parts.fragment)),
        ] if bad
    ]
    if problems:
        raise ValueError(f"bad MySQL URL {masked!r}: it has {' and '.join(problems)}; {_URL_FORMS}")
    return {
        "host": parts.hostname,
        "port": port,
        # Percent-decoded, so that a password may hold '@', ':' or '/' written as %40, %3A, %2F.
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(database),
    }


def _masked(url: str) -> str:
    """The URL with its password starred out, for error messages that end up in logs."""
    parts: SplitResult = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()
