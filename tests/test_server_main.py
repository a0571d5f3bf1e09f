"""server_main.py: starts on SQLite, serves, and on SIGTERM tells clients and exits 0."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from protocol import PROTOCOL_VERSION
from server_main import parse_args
from tests.conftest import free_base_port, running_meeting_server, wait_until
from tests.raw_client import RawConnection

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_server_main_serves_and_stops_cleanly_on_sigterm(tmp_path):
    port = free_base_port()
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "server_main.py"), "--host", "127.0.0.1",
                             "--port", str(port), "--threads", "2", "--db", f"sqlite:///{tmp_path}/m.db",
                             "--stats-interval", "0.2"],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        def connects() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        assert wait_until(connects, timeout=15, interval=0.05)
        conn = RawConnection(port)
        conn.ok("hello", version=PROTOCOL_VERSION)
        login_port = conn.ok("register", username="first", password="secret-pw")
        assert login_port["user_id"]
        assert conn.ok("login", username="first", password="secret-pw")["audio_port"] == port + 1
        proc.send_signal(signal.SIGTERM)
        assert conn.wait_push("server_shutdown")["message"]
        assert conn.is_closed_by_server()
        _, stderr = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert f"control {port}, audio {port + 1}, video {port + 2}" in stderr
    assert "stats: control=" in stderr
    assert "stopped" in stderr


def test_a_bad_database_url_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server_main.py"), "--db", "postgres://x/y"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "cannot start" in result.stderr and "unsupported database URL" in result.stderr


def test_help_explains_every_flag():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server_main.py"), "--help"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--threads", "--db", "--heartbeat-timeout", "--max-room-size",
                 "--room-grace", "--db-deadline", "--db-breaker-failures", "--db-breaker-cooldown",
                 "--log-level"):
        assert flag in result.stdout


def test_the_database_breaker_follows_its_flags(tmp_path):
    with pytest.raises(SystemExit):
        parse_args(["--db-breaker-failures", "0"])
    args = parse_args(["--db-breaker-failures", "5", "--db-breaker-cooldown", "7.5"])
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db", db_breaker_failures=args.db_breaker_failures,
                                db_breaker_cooldown=args.db_breaker_cooldown) as server:
        assert (server.db.breaker.failures, server.db.breaker.cooldown) == (5, 7.5)
