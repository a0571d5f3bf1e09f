"""A database from before user name keys (schema 0001) opened by this server: migrated, and its
accounts given keys, so that old accounts log in with any case or form of their name."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from server.storage import open_storage
from server.storage.migrations import SQL_ROOT, load_migrations, migrate_mysql, migrate_sqlite
from server.storage.storage import Storage
from tests.conftest import fresh_mysql_database

OLD_USERS = [("Zoë", "older"), ("ZOË", "newer, same name in capitals"), ("two words", "refused by PRECIS")]


def _first_migration_only(tmp_path: Path, engine: str) -> Path:
    root = tmp_path / "sql-0001"
    (root / engine).mkdir(parents=True)
    shutil.copy(SQL_ROOT / engine / "0001_init.sql", root / engine)
    return root


@pytest.fixture(params=["sqlite", "mysql"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database at schema 0001, holding OLD_USERS (as an old server wrote them)."""
    root = _first_migration_only(tmp_path, request.param)
    if request.param == "sqlite":
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path, isolation_level=None)
        migrate_sqlite(conn, root)
        _insert(conn.execute, "?")
        conn.close()
        yield f"sqlite:///{path}"
        return
    import MySQLdb

    with fresh_mysql_database() as url:
        conn = MySQLdb.connect(host="127.0.0.1", user="root", passwd="", db=url.rsplit("/", 1)[1],
                               charset="utf8mb4", autocommit=True)
        migrate_mysql(conn, root)
        _insert(conn.cursor().execute, "%s")
        conn.close()
        yield url


def _insert(execute: Callable[..., Any], mark: str) -> None:
    for name, display in OLD_USERS:
        execute(f"INSERT INTO users (username, password_hash, display_name, created_at)"
                f" VALUES ({mark}, 'hash', {mark}, 0)", (name, display))


def test_old_accounts_get_keys_and_the_older_of_a_clash_keeps_it(old_database: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    storage: Storage = open_storage(old_database)
    try:
        older, newer, spaced = (storage.get_user_by_name(name) for name, _ in OLD_USERS)
        assert storage.schema_version() == load_migrations("sqlite")[-1].version  # migrated to the newest
        # Any form finds the older Zoë; the newer one is still found by its exact name.
        assert storage.get_user_by_name("zoë", "zoë") == older
        assert storage.get_user_by_name("ZOË", "zoë") == newer
        assert storage.get_user_by_name("two words") == spaced
        assert [name for _, name in storage.users_without_key()] == ["ZOË", "two words"]
        assert "logs in only by its exact name" in caplog.text
    finally:
        storage.close()
    # Opening again changes nothing and keeps working.
    again = open_storage(old_database)
    try:
        assert again.get_user_by_name("ZoË", "zoë") == older
    finally:
        again.close()
