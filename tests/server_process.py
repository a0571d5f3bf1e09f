"""A real server process (`server_main.py`) for black-box tests: its log, memory and fds."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import free_base_port, wait_until

ROOT = Path(__file__).resolve().parents[1]


class ServerProcess:
    """`server_main.py` on free ports and a fresh SQLite file (`meeting.db` in tmp_path), logging to
    `server.log` there; what tests.raw_client needs of a server (its ports), and the process's state."""

    def __init__(self, tmp_path: Path, *flags: str) -> None:
        self.port = free_base_port()
        self.log_path = tmp_path / "server.log"
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1", "--port", str(self.port),
             "--db", f"sqlite:///{tmp_path}/meeting.db", "--stats-interval", "0", *flags],
            cwd=tmp_path, stdout=self._log, stderr=subprocess.STDOUT)
        if not wait_until(self._listening, timeout=20, interval=0.05) or not self.alive():
            self.stop()
            raise RuntimeError(f"the server did not start:\n{self.log()}")

    @property
    def control_port(self) -> int:
        return self.port

    @property
    def audio_port(self) -> int:
        return self.port + 1

    @property
    def video_port(self) -> int:
        return self.port + 2

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            return True  # dead: reported by the caller
        try:
            socket.create_connection(("127.0.0.1", self.port + 2), timeout=1).close()
            return True
        except OSError:
            return False

    def rss_mib(self) -> float:
        """Resident memory of the server process now."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


@contextlib.contextmanager
def server_process(tmp_path: Path, *args: str) -> Iterator[ServerProcess]:
    """A ServerProcess, stopped (SIGTERM) afterwards."""
    server = ServerProcess(tmp_path, *args)
    try:
        yield server
    finally:
        server.stop()
