"""SqliteStorage: the shared storage behaviour, plus what only SQLite does (WAL, locks, migrations)."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from server.storage import StorageError, StorageUnavailable
from server.storage import sqlite_storage as sqlite_storage_module
from server.storage.migrations import migrate_sqlite
from server.storage.sqlite_storage import SqliteStorage
from tests.storage_contract import StorageContract


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # A folder that does not exist yet: the storage must make it, as on a fresh install.
    return tmp_path / "data" / "meeting.db"


@pytest.fixture
def storage(db_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(db_path)
    yield opened
    opened.close()


@pytest.fixture
def reopen(db_path: Path) -> Iterator[Callable[[], SqliteStorage]]:
    opened: list[SqliteStorage] = []

    def open_again() -> SqliteStorage:
        opened.append(SqliteStorage(db_path))
        return opened[-1]

    yield open_again
    for each in opened:
        each.close()


@pytest.fixture
def schema_rows(db_path: Path) -> Callable[[], list[tuple]]:
    def rows() -> list[tuple]:
        with contextlib.closing(sqlite3.connect(db_path)) as conn:
            return conn.execute("SELECT version, name, applied_at FROM schema_version"
                                " ORDER BY version").fetchall()

    return rows


@pytest.fixture
def engine() -> str:
    return "sqlite"


class TestSqliteStorage(StorageContract):
    def test_database_file_is_in_wal_mode(self, storage: SqliteStorage, db_path: Path) -> None:
        assert db_path.is_file()
        with contextlib.closing(sqlite3.connect(db_path)) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_locked_database_reports_unavailable_then_recovers(
            self, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(sqlite_storage_module, "BUSY_TIMEOUT_SECONDS", 0.2)
        storage = SqliteStorage(db_path)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        try:
            # EXCLUSIVE would keep readers out of a rollback-journal database; under WAL it cannot.
            blocker.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            with pytest.raises(StorageUnavailable, match="locked"):
                storage.create_user("alice", "h", "Alice")
            assert time.monotonic() - started < 3
            # Readers are not held up by the writer.
            assert storage.get_user_by_name("alice") is None
            blocker.execute("ROLLBACK")
            assert storage.create_user("alice", "h", "Alice").username == "alice"
        finally:
            blocker.close()
            storage.close()

    def test_unusable_path_reports_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "a-file").write_text("not a folder")
        with pytest.raises(StorageUnavailable, match="a-file"):
            SqliteStorage(tmp_path / "a-file" / "meeting.db")


class TestSqliteMigrations:
    """The migration runner itself, on scratch migration folders."""

    @staticmethod
    def _write(root: Path, name: str, sql: str) -> None:
        (root / "sqlite").mkdir(parents=True, exist_ok=True)
        (root / "sqlite" / name).write_text(sql, encoding="utf-8")

    @staticmethod
    def _connect(tmp_path: Path) -> sqlite3.Connection:
        return sqlite3.connect(tmp_path / "m.db", isolation_level=None)

    def test_new_migration_is_applied_once_on_next_start(self, tmp_path: Path) -> None:
        root = tmp_path / "sql"
        self._write(root, "0001_first.sql", "-- a comment;\nCREATE TABLE a (x INTEGER);\n")
        conn = self._connect(tmp_path)
        assert migrate_sqlite(conn, root) == 1
        conn.execute("INSERT INTO a VALUES (1)")
        self._write(root, "0002_second.sql", """
CREATE TABLE b (y TEXT);
-- A trigger holds semicolons inside one statement.
CREATE TRIGGER a_to_b AFTER INSERT ON a BEGIN
    INSERT INTO b VALUES ('row; added');
END;
""")
        assert migrate_sqlite(conn, root) == 2
        assert migrate_sqlite(conn, root) == 2
        conn.execute("INSERT INTO a VALUES (2)")
        assert conn.execute("SELECT y FROM b").fetchall() == [("row; added",)]
        assert conn.execute("SELECT version, name FROM schema_version").fetchall() == [
            (1, "first"), (2, "second")]
        conn.close()

    def test_failing_migration_leaves_no_trace(self, tmp_path: Path) -> None:
        root = tmp_path / "sql"
        self._write(root, "0001_first.sql", "CREATE TABLE a (x INTEGER);\n")
        self._write(root, "0002_broken.sql", "CREATE TABLE b (y TEXT);\nINSERT INTO missing VALUES (1);\n")
        conn = self._connect(tmp_path)
        with pytest.raises(sqlite3.OperationalError, match="missing"):
            migrate_sqlite(conn, root)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "a" in tables and "b" not in tables
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        conn.close()

    def test_database_newer_than_the_code_is_refused(self, tmp_path: Path) -> None:
        root = tmp_path / "sql"
        self._write(root, "0001_first.sql", "CREATE TABLE a (x INTEGER);\n")
        conn = self._connect(tmp_path)
        migrate_sqlite(conn, root)
        conn.execute("INSERT INTO schema_version VALUES (7, 'from_the_future', 0)")
        with pytest.raises(StorageError, match="newer"):
            migrate_sqlite(conn, root)
        conn.close()

    def test_misnamed_migration_file_is_refused(self, tmp_path: Path) -> None:
        root = tmp_path / "sql"
        self._write(root, "2-oops.sql", "CREATE TABLE a (x INTEGER);\n")
        with pytest.raises(StorageError, match=r"2-oops\.sql"):
            migrate_sqlite(self._connect(tmp_path), root)
