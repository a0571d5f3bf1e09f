"""open_storage: the database URL from the command line picks and opens the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.storage import DEFAULT_DB_URL, open_storage
from server.storage import mysql_storage as mysql_storage_module
from server.storage.sqlite_storage import SqliteStorage


def test_default_url_makes_data_folder_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    storage = open_storage(DEFAULT_DB_URL)
    try:
        assert isinstance(storage, SqliteStorage)
        storage.create_user("alice", "h", "Alice")
    finally:
        storage.close()
    assert (tmp_path / "data" / "meeting.db").is_file()


def test_relative_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_storage("sqlite:///nested/dir/my db.sqlite").close()
    assert (tmp_path / "nested" / "dir" / "my db.sqlite").is_file()


def test_absolute_sqlite_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path / "..")
    target = tmp_path / "abs" / "meeting.db"
    assert str(target).startswith("/")
    open_storage(f"sqlite:///{target}").close()  # four slashes in all
    assert target.is_file()


class _RecordingMysqlStorage:
    """Stands in for MysqlStorage so that URL parsing is tested without a database."""

    def __init__(self, **params: Any) -> None:
        self.params = params

    def users_without_key(self) -> list[tuple[int, str]]:
        return []

    def close(self) -> None:
        pass


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mysql_storage_module, "MysqlStorage", _RecordingMysqlStorage)


@pytest.mark.parametrize(("url", "params"), [
    ("mysql://meet:s3cret@db.example.org:3307/meeting",
     {"host": "db.example.org", "port": 3307, "user": "meet", "password": "s3cret", "database": "meeting"}),
    ("mysql://root@127.0.0.1/meeting",
     {"host": "127.0.0.1", "port": 3306, "user": "root", "password": "", "database": "meeting"}),
    ("mariadb://app:p%40ss%3Aw%2Frd@10.0.0.5/mm_prod",
     {"host": "10.0.0.5", "port": 3306, "user": "app", "password": "p@ss:w/rd", "database": "mm_prod"}),
    ("mysql://root:@[::1]:3310/db",
     {"host": "::1", "port": 3310, "user": "root", "password": "", "database": "db"}),
])
def test_mysql_urls(recorded: None, url: str, params: dict[str, Any]) -> None:
    storage = open_storage(url)
    assert isinstance(storage, _RecordingMysqlStorage)
    assert storage.params == params


@pytest.mark.parametrize("url", [
    "",
    "data/meeting.db",
    "postgres://user@host/db",
    "sqlite:",
    "sqlite:/data/meeting.db",
    "sqlite://data/meeting.db",
    "sqlite:///",
    "sqlite://:memory:",
    "mysql://db.example.org/meeting",
    "mysql://user@/meeting",
    "mysql://user@db.example.org",
    "mysql://user@db.example.org/",
    "mysql://user@db.example.org:port/meeting",
    "mysql://user@db.example.org:99999/meeting",
    "mysql://user@db.example.org/meeting/extra",
    "mysql://user@db.example.org/meeting?charset=latin1",
])
def test_bad_urls_are_refused_with_the_accepted_forms(recorded: None, url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///") as caught:
        open_storage(url)
    assert "mysql://user" in str(caught.value)


def test_password_never_appears_in_the_error(recorded: None) -> None:
    for url in ["mysql://meet:Sup3rSecret@db.example.org:bad/meeting", "postgres://meet:Sup3rSecret@h/db",
                "mysql://meet:Sup3rSecret@db.example.org/a/b"]:
        with pytest.raises(ValueError) as caught:
            open_storage(url)
        assert "Sup3rSecret" not in str(caught.value)
        assert "***" in str(caught.value)
