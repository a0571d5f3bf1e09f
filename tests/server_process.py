"""A real server process (`server_main.py`) for black-box tests, its log kept for reading."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import free_base_port, wait_until

ROOT = Path(__file__).resolve().parents[1]


class ServerProcess:
    """What tests.raw_client needs of a server (its control port), and the process's log."""

    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path) -> None:
        self.proc = proc
        self.control_port = port
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def server_process(tmp_path: Path, *args: str) -> Iterator[ServerProcess]:
    """`server_main.py` on a fresh SQLite file and free ports; stopped (SIGTERM) afterwards."""
    port = free_base_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1",
                                 "--port", str(port), "--db", f"sqlite:///{tmp_path}/meeting.db",
                                 "--stats-interval", "0", *args],
                                cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: _listening(port) or proc.poll() is not None, timeout=15, interval=0.05)
        assert proc.poll() is None, log_path.read_text(errors="replace")
        yield ServerProcess(proc, port, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False
