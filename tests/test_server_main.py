"""server_main.py: starts, serves, and exits 0 on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys

from tests.conftest import recv_exactly, wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_server_main_serves_and_stops_cleanly_on_sigterm():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "server_main.py", "--host", "127.0.0.1", "--port", str(port),
                             "--threads", "2"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        def connects() -> bool:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        assert wait_until(connects, timeout=10, interval=0.05)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"hello")
            assert recv_exactly(sock, 5) == b"hello"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "listening on 127.0.0.1" in stderr and "stopped" in stderr


def test_help_explains_the_flags():
    result = subprocess.run([sys.executable, "server_main.py", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--threads", "--log-level"):
        assert flag in result.stdout
