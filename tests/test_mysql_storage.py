"""MysqlStorage against the real MariaDB on 127.0.0.1:3306 (root, empty password), in a scratch database."""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import MySQLdb
import pytest

from server.storage import StorageUnavailable
from server.storage.deadline import job_deadline
from server.storage.mysql_storage import MysqlStorage
from tests.storage_contract import StorageContract
from tests.tcp_proxy import PASS, STALL, TcpProxy

HOST, PORT, USER, PASSWORD = "127.0.0.1", 3306, "root", ""


def _admin() -> Any:
    return MySQLdb.connect(host=HOST, port=PORT, user=USER, password=PASSWORD, connect_timeout=3,
                           charset="utf8mb4", autocommit=True)


try:
    _admin().close()
except MySQLdb.Error:
    pytest.skip("MariaDB not reachable at 127.0.0.1:3306: MySQL storage tests skipped",
                allow_module_level=True)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of our own for this run, dropped at the end, so no other data is touched."""
    name = f"mm_test_{secrets.token_hex(6)}"
    admin = _admin()
    admin.cursor().execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield name
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _open(database: str) -> MysqlStorage:
    return MysqlStorage(HOST, PORT, USER, PASSWORD, database)


@pytest.fixture
def storage(database: str) -> Iterator[MysqlStorage]:
    opened = _open(database)
    # The database lives for the whole module; each test starts with empty tables.
    admin = _admin()
    cursor = admin.cursor()
    for table in ("login_tokens", "external_identities", "chat_messages", "rooms", "users"):
        cursor.execute(f"DELETE FROM `{database}`.{table}")
    admin.close()
    yield opened
    opened.close()


@pytest.fixture
def reopen(database: str) -> Iterator[Callable[[], MysqlStorage]]:
    opened: list[MysqlStorage] = []

    def open_again() -> MysqlStorage:
        opened.append(_open(database))
        return opened[-1]

    yield open_again
    for each in opened:
        each.close()


@pytest.fixture
def schema_rows(database: str) -> Callable[[], list[tuple]]:
    def rows() -> list[tuple]:
        admin = _admin()
        try:
            cursor = admin.cursor()
            cursor.execute(f"SELECT version, name, applied_at FROM `{database}`.schema_version"
                           " ORDER BY version")
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            admin.close()

    return rows


@pytest.fixture
def engine() -> str:
    return "mysql"


class TestMysqlStorage(StorageContract):
    def test_server_restart_or_idle_kill_is_survived(self, storage: MysqlStorage, database: str) -> None:
        alice = storage.create_user("alice", "h", "Alice")
        admin = _admin()
        try:
            cursor = admin.cursor()
            cursor.execute("SELECT ID FROM information_schema.PROCESSLIST"
                           " WHERE DB = %s AND ID <> CONNECTION_ID()", (database,))
            victims = [row[0] for row in cursor.fetchall()]
            assert victims, "the storage should hold a connection to the test database"
            for victim in victims:
                cursor.execute(f"KILL {int(victim)}")
        finally:
            admin.close()
        # The next call finds its connection dead, reconnects once, and succeeds.
        assert storage.get_user_by_name("alice") == alice
        assert storage.create_user("bob", "h", "Bob").username == "bob"

    def test_missing_database_is_named_in_the_error(self) -> None:
        missing = f"mm_test_missing_{secrets.token_hex(4)}"
        with pytest.raises(StorageUnavailable, match=f"{missing}.*does not exist"):
            _open(missing)

    def test_closed_port_fails_fast(self) -> None:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        started = time.monotonic()
        with pytest.raises(StorageUnavailable, match=f"127.0.0.1:{port}"):
            MysqlStorage("127.0.0.1", port, USER, PASSWORD, "meeting")
        assert time.monotonic() - started < 5

    def test_silent_server_fails_within_seconds_instead_of_hanging(self) -> None:
        # Accepts TCP connections (the kernel does) but never says hello, like a hung database.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        try:
            started = time.monotonic()
            with pytest.raises(StorageUnavailable):
                MysqlStorage("127.0.0.1", silent.getsockname()[1], USER, PASSWORD, "meeting")
            assert time.monotonic() - started < 8
        finally:
            silent.close()

    def test_a_stalled_server_fails_a_call_within_its_deadline_and_keeps_no_late_write(
            self, storage: MysqlStorage, database: str) -> None:
        with TcpProxy(PORT) as proxy:
            proxied = MysqlStorage(HOST, proxy.port, USER, PASSWORD, database)
            try:
                assert proxied.get_user_by_name("nobody") is None  # this thread's connection is open
                proxy.set_mode(STALL)
                started = time.monotonic()
                with job_deadline(started + 2.5), pytest.raises(StorageUnavailable):
                    proxied.create_user("late", "h", "Late")
                assert time.monotonic() - started < 2.5
                # What the stalled link held now reaches the server, after the caller was told it failed.
                proxy.set_mode(PASS)
                time.sleep(0.3)
                assert storage.get_user_by_name("late") is None
                assert proxied.create_user("late", "h", "Late").username == "late"  # and it recovered
            finally:
                proxied.close()

    def test_a_call_without_time_left_for_a_statement_does_not_start_it(self, storage: MysqlStorage) -> None:
        storage.get_user_by_name("nobody")
        with job_deadline(time.monotonic() + 0.5), pytest.raises(StorageUnavailable, match="no time left"):
            storage.create_user("hurried", "h", "Hurried")
        assert storage.get_user_by_name("hurried") is None
