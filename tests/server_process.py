"""The real server (python server_main.py) in a process of its own, for black-box abuse tests: its
ports, its log and the stats it writes there, its memory and fds."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from protocol import PROTOCOL_VERSION
from tests.conftest import free_base_port, wait_until
from tests.raw_client import RawConnection
from tests.tls_support import server_tls_flags

ROOT = Path(__file__).resolve().parents[1]


class ServerProcess:
    """`server_main.py` on 127.0.0.1, free ports and a fresh SQLite file (`meeting.db` in `directory`),
    logging to `server.log` there; what tests.raw_client needs of a server (its ports). The HTTP
    endpoint listens on port + 3 (`http_port`; flags may say --http-port -1 for none)."""

    def __init__(self, directory: Path, *flags: str, stats_interval: float = 0.0,
                 port: int | None = None) -> None:
        self.port = port or free_base_port()  # given: the same server started again (a restart)
        self.http_port = self.port + 3
        if "--http-port" in flags:
            self.http_port = int(flags[flags.index("--http-port") + 1])
        self.log_path = directory / "server.log"
        # Closed in stop(). A restart (same port) appends: its log follows the first server's.
        self._log = open(self.log_path, "ab" if port else "wb")
        # The test certificate (tests.raw_client trusts it), unless the test says otherwise.
        self.tls = "--no-tls" not in flags
        tls = server_tls_flags() if self.tls and "--cert" not in flags else []
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1", "--port", str(self.port),
             "--db", f"sqlite:///{directory}/meeting.db", "--data-dir", str(directory / "data"),
             "--stats-interval", str(stats_interval), "--http-port", str(self.http_port), *tls, *flags],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)
        if not wait_until(self._listening, timeout=20, interval=0.05) or not self.alive():
            self.stop()
            raise RuntimeError(f"the server did not start ({self.proc.returncode}):\n{self.log()[-2000:]}")

    @property
    def control_port(self) -> int:
        return self.port

    @property
    def audio_port(self) -> int:
        return self.port + 1

    @property
    def video_port(self) -> int:
        return self.port + 2

    @property
    def http_url(self) -> str:
        """The HTTP endpoint (TLS with the test certificate, as the other ports)."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.http_port}"

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            return True  # dead: reported by the caller
        try:
            # The HTTP endpoint starts last.
            last = self.http_port if self.http_port >= 0 else self.video_port
            socket.create_connection(("127.0.0.1", last), timeout=1).close()
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
        """Everything the server has logged so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def connect(self, source: str | None = None, timeout: float = 10.0) -> RawConnection:
        """A control connection that has said hello."""
        conn = RawConnection(self.control_port, timeout=timeout, tls=self.tls, source=source)
        conn.ok("hello", version=PROTOCOL_VERSION)
        return conn

    def latest_stats(self) -> dict[str, int]:
        lines = [line for line in self.log().splitlines() if "stats: " in line]
        if not lines:
            return {}
        fields = lines[-1].split("stats: ", 1)[1]
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", fields)}

    def stat_once_settled(self, name: str, settle: float = 0.6) -> int:
        """The stat once two stats lines `settle` seconds apart agree (the work has finished)."""
        previous = None

        def steady() -> bool:
            nonlocal previous
            current = self.latest_stats().get(name)
            same = current is not None and current == previous
            previous = current
            return same

        assert wait_until(steady, timeout=20, interval=settle), f"{name} never settled: {self.latest_stats()}"
        return previous

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
def server_process(directory: Path, *flags: str) -> Iterator[ServerProcess]:
    """A ServerProcess writing stats every 0.2 s, stopped (SIGTERM) afterwards."""
    server = ServerProcess(directory, *flags, stats_interval=0.2)
    try:
        yield server
    finally:
        server.stop()
