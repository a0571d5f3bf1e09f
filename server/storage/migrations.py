"""Numbered schema changes from sql/<engine>/NNNN_name.sql, each applied once, in order, at start."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.storage.errors import StorageError, StorageUnavailable

log = logging.getLogger(__name__)

SQL_ROOT = Path(__file__).resolve().parents[2] / "sql"

_FILE_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")

# Where one statement ends: SQLite can tell (triggers hold inner semicolons); for MySQL a
# semicolon at the end of a line ends a statement (sql/README.md states the rule).
_STATEMENT_COMPLETE: dict[str, Callable[[str], bool]] = {
    "sqlite": sqlite3.complete_statement,
    "mysql": lambda _text: True,
}

_SQLITE_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at REAL NOT NULL
)"""

_MYSQL_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INT NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    applied_at DOUBLE NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"""

# Servers starting at once against one MySQL database take turns (lock names are per server,
# at most 64 characters, hence the database name cut short).
_MYSQL_LOCK = "CONCAT('mini-meeting migrations ', LEFT(DATABASE(), 40))"
_MYSQL_LOCK_WAIT_SECONDS = 30


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def load_migrations(engine: str, root: Path = SQL_ROOT) -> list[Migration]:
    """Every migration for this engine, by version; a misnamed or duplicate file is an error."""
    directory = root / engine
    is_complete = _STATEMENT_COMPLETE[engine]
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise StorageError(f"migration file {path} is not named NNNN_lower_case_name.sql")
        version = int(match.group(1))
        if version in migrations:
            raise StorageError(f"two migrations in {directory} have version {version:04d}")
        statements = split_statements(path.read_text(encoding="utf-8"), is_complete)
        migrations[version] = Migration(version, match.group(2), tuple(statements))
    return [migrations[v] for v in sorted(migrations)]


def split_statements(script: str, is_complete: Callable[[str], bool]) -> list[str]:
    """Cut a script into statements at semicolons that end a line; drivers run one at a time."""
    statements: list[str] = []
    lines: list[str] = []
    for line in script.splitlines():
        if not lines and (not line.strip() or line.lstrip().startswith("--")):
            continue
        lines.append(line)
        text = "\n".join(lines).strip()
        if line.rstrip().endswith(";") and is_complete(text):
            statements.append(text)
            lines = []
    if lines:
        raise StorageError(f"migration ends inside a statement: {' '.join(lines)[:80]!r}...")
    return statements


def migrate_sqlite(conn: sqlite3.Connection, root: Path = SQL_ROOT) -> int:
    """Apply what is missing, each migration in its own transaction; returns the schema version.

    The connection must be in autocommit mode (isolation_level=None) so that BEGIN is ours.
    """
    conn.execute(_SQLITE_VERSION_TABLE)
    migrations = load_migrations("sqlite", root)
    for migration in _pending(_applied(conn.execute("SELECT version FROM schema_version")), migrations):
        # IMMEDIATE takes the write lock before looking, so two servers starting at once
        # cannot both decide that a migration is missing.
        conn.execute("BEGIN IMMEDIATE")
        try:
            done = conn.execute("SELECT 1 FROM schema_version WHERE version = ?",
                                (migration.version,)).fetchone()
            if done is None:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                             (migration.version, migration.name, time.time()))
                log.info("applied SQLite migration %04d_%s", migration.version, migration.name)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return _current(conn.execute("SELECT MAX(version) FROM schema_version"))


def migrate_mysql(conn: Any, root: Path = SQL_ROOT) -> int:
    """Apply what is missing on an autocommit MySQLdb connection; returns the schema version.

    MySQL commits every DDL statement on its own, so a migration that fails halfway stays
    half applied and is not recorded: it needs a person (sql/README.md).
    """
    migrations = load_migrations("mysql", root)
    cursor = conn.cursor()
    try:
        cursor.execute(_MYSQL_VERSION_TABLE)
        cursor.execute(f"SELECT GET_LOCK({_MYSQL_LOCK}, {_MYSQL_LOCK_WAIT_SECONDS})")
        if cursor.fetchone()[0] != 1:
            raise StorageUnavailable(f"another server held the schema migration lock for "
                                     f"{_MYSQL_LOCK_WAIT_SECONDS} s; is one stuck migrating?")
        try:
            cursor.execute("SELECT version FROM schema_version")
            for migration in _pending(_applied(cursor.fetchall()), migrations):
                for statement in migration.statements:
                    cursor.execute(statement)
                cursor.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (%s, %s, %s)",
                               (migration.version, migration.name, time.time()))
                log.info("applied MySQL migration %04d_%s", migration.version, migration.name)
        finally:
            cursor.execute(f"DO RELEASE_LOCK({_MYSQL_LOCK})")
        cursor.execute("SELECT MAX(version) FROM schema_version")
        return _current(cursor.fetchall())
    finally:
        cursor.close()


def _applied(rows: Iterable[tuple[Any, ...]]) -> set[int]:
    return {int(row[0]) for row in rows}


def _current(rows: Iterable[tuple[Any, ...]]) -> int:
    (value,) = next(iter(rows))
    return int(value or 0)


def _pending(applied: set[int], migrations: list[Migration]) -> list[Migration]:
    newest_known = max((m.version for m in migrations), default=0)
    if applied and max(applied) > newest_known:
        # Running old code on a newer schema could corrupt data; refuse instead.
        raise StorageError(f"the database has schema version {max(applied)}, newer than this server "
                           f"knows ({newest_known}); run a newer server")
    return [m for m in migrations if m.version not in applied]
