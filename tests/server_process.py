"""The real server (python server_main.py) in a process of its own, for black-box abuse tests."""

from __future__ import annotations

import contextlib
import re
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
    """Ports, the log, and the stats the server writes into it (see MeetingServer.stats)."""

    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path) -> None:
        self.proc = proc
        self.control_port = port
        self.log_path = log_path

    def log(self) -> str:
        """Everything the server has logged so far."""
        return self.log_path.read_text(errors="replace")

    def connect(self, source: str | None = None, timeout: float = 10.0) -> RawConnection:
        """A control connection that has said hello."""
        conn = RawConnection(self.control_port, timeout=timeout, source=source)
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


@contextlib.contextmanager
def server_process(directory: Path, *flags: str) -> Iterator[ServerProcess]:
    """`server_main.py` on 127.0.0.1 with a fresh SQLite database in `directory`, stats every 0.2 s."""
    port = free_base_port()
    log = directory / "server.log"
    with log.open("w") as log_file:
        # The test certificate (tests.raw_client trusts it), unless the test says otherwise.
        tls = [] if "--no-tls" in flags or "--cert" in flags else server_tls_flags()
        proc = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1",
                                 "--port", str(port), "--db", f"sqlite:///{directory}/meeting.db",
                                 "--data-dir", str(directory / "data"), "--stats-interval", "0.2",
                                 *tls, *flags],
                                cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT)

    def listening() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    try:
        assert wait_until(listening, timeout=20, interval=0.05), "the server never listened"
        yield ServerProcess(proc, port, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
