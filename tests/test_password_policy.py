"""Password rules for new accounts, against a real server process: at least 8 characters, none
of the 10,000 most common, each refusal saying which rule; old accounts still log in."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from protocol import PROTOCOL_VERSION
from protocol.password_rules import PASSWORD_MIN, check_new_password, common_passwords
from server.passwords import hash_password
from tests.raw_client import RawConnection
from tests.server_process import server_process


def _hello(port: int) -> RawConnection:
    conn = RawConnection(port)
    conn.ok("hello", version=PROTOCOL_VERSION)
    return conn


def test_the_shipped_list_holds_the_10000_most_common() -> None:
    common = common_passwords()
    assert len(common) == 10_000
    assert {"123456", "password", "qwerty", "iloveyou", "password1"} <= common
    assert all(p == p.strip() and p for p in common)


def test_register_refuses_short_and_common_passwords_with_clear_messages(tmp_path: Path) -> None:
    with server_process(tmp_path) as server:
        conn = _hello(server.control_port)
        for short in ("", "a", "1234567", "seven77"):
            error = conn.request("register", username="ada", password=short)["error"]
            assert error["code"] == "INVALID_PASSWORD", error
            assert f"at least {PASSWORD_MIN} characters" in error["message"], error
        for common in ("password", "12345678", "iloveyou", "Password1", "QWERTYUIOP", "baseball"):
            error = conn.request("register", username="ada", password=common)["error"]
            assert error["code"] == "INVALID_PASSWORD" and "too common" in error["message"], (common, error)
        error = conn.request("register", username="ada", password="x" * 129)["error"]
        assert error["code"] == "INVALID_PASSWORD" and "at most 128" in error["message"]
        assert conn.ok("register", username="ada", password="purple-otter-42")["user_id"]
        assert _hello(server.control_port).ok("login", username="ada", password="purple-otter-42")


def test_an_account_from_before_the_rules_still_logs_in_with_its_short_password(tmp_path: Path) -> None:
    with server_process(tmp_path) as server:
        _hello(server.control_port).ok("register", username="newer", password="purple-otter-42")
    # An account made under the old rules (6 characters allowed), as an old database holds it.
    db = sqlite3.connect(tmp_path / "meeting.db")
    with db:
        db.execute("INSERT INTO users (username, password_hash, display_name, created_at)"
                   " VALUES ('Oldtimer', ?, 'Old', 0)", (hash_password("abc123"),))
    db.close()
    with server_process(tmp_path) as server:
        login = _hello(server.control_port).ok("login", username="oldtimer", password="abc123")
        assert login["user"]["username"] == "Oldtimer"


@pytest.mark.parametrize("password", ["correct horse battery", "purple-otter-42", "Zw8!kq#2", "ñandú-ñandú"])
def test_long_uncommon_passwords_pass(password: str) -> None:
    check_new_password(password)
