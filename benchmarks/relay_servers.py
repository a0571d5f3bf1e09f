"""The relays under test as processes: start one, know when it listens, read its CPU and memory, stop it."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from benchmarks.pingpong import ROOT, BenchmarkError, log
from benchmarks.soak import NO_HTTP

IMPLS = ("ours", "asyncio", "uvloop")
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Below Linux's ephemeral range, so that no client socket is handed one of these ports meanwhile.
_BASE_PORTS = (20000, 32000)


@dataclass(frozen=True)
class Impl:
    """One relay to measure: ours with its I/O loop threads, in clear or over TLS, or a baseline
    (one loop, one thread, in clear)."""

    name: str
    threads: int = 1
    tls: bool = False

    @property
    def label(self) -> str:
        name = f"ours x{self.threads}" if self.name == "ours" else self.name
        return f"{name} +TLS" if self.tls else name


@dataclass
class RelayProcess:
    """A running relay; its output goes to files, so it can never block on a pipe."""

    impl: Impl
    proc: subprocess.Popen
    stdout: IO[bytes]
    stderr: IO[bytes]
    port: int = 0

    def stderr_tail(self, limit: int = 3000) -> str:
        return file_tail(self.stderr, limit)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchmarkError(f"{self.impl.label} exited with status {self.proc.returncode} during "
                                 f"the run; stderr:\n{self.stderr_tail()}")


def file_tail(file: IO[bytes], limit: int = 3000) -> str:
    size = os.fstat(file.fileno()).st_size
    return os.pread(file.fileno(), limit, max(0, size - limit)).decode(errors="replace")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process, all threads, from /proc/PID/stat.

    Kept apart because the system part (the kernel's TCP work in send and recv,
    and epoll) is what no Python relay can make cheaper."""
    # Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchmarkError(f"no VmHWM in /proc/{pid}/status")


def free_port_triple() -> int:
    """A base port whose next two ports are free as well (ours takes three in a row)."""
    for _ in range(200):
        base = random.randrange(*_BASE_PORTS)
        with ExitStack() as stack:
            try:
                for offset in range(3):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", base + offset))
            except OSError:
                continue
            return base
    raise BenchmarkError("found no three consecutive free ports")


def stop_process(proc: subprocess.Popen, label: str) -> None:
    """SIGTERM, then SIGKILL if it does not stop; a process that needed killing is reported."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        log(f"warning: {label} ignored SIGTERM for {STOP_TIMEOUT:.0f} s and was killed")


def _command(impl: Impl, port: int, db_dir: Path, max_room_size: int) -> list[str]:
    if impl.name == "ours":
        # Over TLS as a fresh install runs: a self-signed certificate made at start in its data dir.
        tls = ["--data-dir", str(db_dir)] if impl.tls else ["--no-tls"]
        return [sys.executable, "server_main.py", "--host", "127.0.0.1", "--port", str(port),
                "--threads", str(impl.threads), "--db", f"sqlite:///{db_dir / 'relay.db'}",
                "--log-level", "WARNING", "--stats-interval", "0", "--max-room-size", str(max_room_size),
                *NO_HTTP,
                # Every load participant registers from this one address: a real school would not.
                "--rate-limit", "register_per_address=none", *tls]
    command = [sys.executable, "-m", "benchmarks.baselines.asyncio_relay", "--port", str(port)]
    return [*command, "--uvloop"] if impl.name == "uvloop" else command


def _wait_listening(relay: RelayProcess, deadline: float) -> bool:
    """True once the relay listens on its ports, False if it exited (a port taken meanwhile)."""
    while time.monotonic() < deadline:
        if relay.proc.poll() is not None:
            return False
        if relay.impl.name == "ours":
            # Ours says nothing at WARNING: the video port, bound last, answering is the sign.
            try:
                socket.create_connection(("127.0.0.1", relay.port + 2), timeout=1.0).close()
                return True
            except OSError:
                pass
        else:
            lines = os.pread(relay.stdout.fileno(), 4096, 0).decode(errors="replace").split("\n")[:-1]
            ready = [line for line in lines if line.startswith("ready ")]
            if ready:
                relay.port = int(ready[0].split()[1])
                return True
        time.sleep(0.05)
    raise BenchmarkError(f"{relay.impl.label} did not listen within {START_TIMEOUT:.0f} s; "
                         f"stderr:\n{relay.stderr_tail()}")


@contextmanager
def running_relay(impl: Impl, max_room_size: int) -> Iterator[RelayProcess]:
    """A fresh relay (and, for ours, a fresh database) listening on 127.0.0.1; always stopped after."""
    with tempfile.TemporaryDirectory(prefix="relay_bench_db_") as db_dir:
        for _attempt in range(3):
            with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
                port = free_port_triple() if impl.name == "ours" else 0
                proc = subprocess.Popen(_command(impl, port, Path(db_dir), max_room_size), cwd=ROOT,
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=err)
                relay = RelayProcess(impl, proc, out, err, port)
                try:
                    if _wait_listening(relay, time.monotonic() + START_TIMEOUT):
                        yield relay
                        return
                finally:
                    stop_process(proc, impl.label)
                log(f"{impl.label} exited at start (status {proc.returncode}), trying other ports; stderr:\n"
                    f"{relay.stderr_tail(500)}")
    raise BenchmarkError(f"{impl.label} failed to start three times")
