"""muduo's ping-pong benchmark: the reactor's echo server against asyncio, uvloop and iperf3.

Every server runs in its own process and is driven by the same uvloop client
in another process (benchmarks/pingpong_client.py); iperf3 brings its own
client and gives the ceiling of raw loopback bandwidth. Implementations are
interleaved at each (size, conns) point so that drift hits them all alike.

    python benchmarks/pingpong.py --quick
    python benchmarks/pingpong.py --png docs/benchmarks/pingpong.png > docs/benchmarks/pingpong.json

With `--tls both` every server but iperf3 is measured twice in the same run,
in clear and over TLS (a throwaway self-signed certificate; the client skips
verification), and the summary gives what TLS leaves of each one's rate.

Stdout is exactly a JSON list of rows {impl, threads, tls, size, conns, mib_s, msgs_s};
progress and a summary of ratios go to stderr. Exits 1 if any point failed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
IMPLS = ("reactor", "asyncio", "uvloop", "iperf3")
FULL_SIZES = (64, 4096, 16384, 65536)
FULL_CONNS = (1, 10, 100)
IPERF3_MAX_STREAMS = 128
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
# Beyond warm-up and measuring: time to start, connect 100+ sockets and exit.
CLIENT_SLACK = 60.0
SUMMARY_POINT = (16384, 100)


class BenchmarkError(RuntimeError):
    """A server or client failed; the message says which, how, and what it printed."""


@dataclass(frozen=True)
class Target:
    """One thing to measure: an implementation and, for the reactor, its I/O loop threads."""

    impl: str
    threads: int | None
    tls: bool = False

    @property
    def label(self) -> str:
        name = f"reactor x{self.threads}" if self.impl == "reactor" else self.impl
        return f"{name} +TLS" if self.tls else name


@dataclass
class Server:
    """A running echo server process; its output goes to files, so it can never block on a pipe."""

    target: Target
    proc: subprocess.Popen
    stdout: IO[bytes]
    stderr: IO[bytes]
    port: int = 0

    def stderr_tail(self, limit: int = 4000) -> str:
        return _tail(self.stderr, limit)


def _tail(file: IO[bytes], limit: int = 4000) -> str:
    size = os.fstat(file.fileno()).st_size
    return os.pread(file.fileno(), limit, max(0, size - limit)).decode(errors="replace")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def format_size(size: int) -> str:
    return f"{size // 1024} KiB" if size >= 1024 and size % 1024 == 0 else f"{size} B"


def parse_sizes(text: str) -> list[int]:
    """Comma-separated byte counts; a k suffix means KiB (64,4k,16k)."""
    sizes = []
    for item in text.lower().split(","):
        item = item.strip().removesuffix("b")
        sizes.append(int(item[:-1]) * 1024 if item.endswith("k") else int(item))
    return sizes


def parse_ints(text: str) -> list[int]:
    return [int(item) for item in text.split(",")]


def free_port() -> int:
    """A port free right now, for servers (iperf3) that cannot report the one they got."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- servers ------------------------------------------------------------------


def server_command(target: Target) -> tuple[list[str], str, int]:
    """The command line, its readiness line prefix, and the port (0: read it from that line)."""
    if target.impl == "iperf3":
        port = free_port()
        return ["iperf3", "-s", "-1", "-p", str(port), "--forceflush"], "Server listening", port
    command = [sys.executable, "-m", "benchmarks.pingpong_servers", target.impl]
    if target.threads is not None:
        command += ["--threads", str(target.threads)]
    if target.tls:
        command.append("--tls")
    return command, "ready ", 0


def wait_ready(server: Server, marker: str) -> str:
    """The server's readiness line; fails with its stderr if it dies or stays silent."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        complete_lines = os.pread(server.stdout.fileno(), 65536, 0).decode(errors="replace").split("\n")[:-1]
        for line in complete_lines:
            if line.startswith(marker):
                return line
        if server.proc.poll() is not None:
            raise BenchmarkError(f"{server.target.label} server exited with status {server.proc.returncode} "
                                 f"before it was ready; stderr:\n{server.stderr_tail()}")
        time.sleep(0.02)
    raise BenchmarkError(f"{server.target.label} server printed no {marker.strip()!r} line within "
                         f"{START_TIMEOUT:.0f} s; stderr:\n{server.stderr_tail()}")


def stop(server: Server) -> None:
    """SIGTERM, then SIGKILL if it does not stop; a server that needed killing is reported."""
    if server.proc.poll() is not None:
        return
    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()
        log(f"warning: {server.target.label} server ignored SIGTERM for {STOP_TIMEOUT:.0f} s and was killed")


def report_server_output(server: Server) -> None:
    """Echo servers print nothing after 'ready': anything on stderr or a bad exit is worth seeing."""
    stderr = server.stderr_tail()
    if server.target.impl != "iperf3" and (stderr or server.proc.returncode != 0):
        log(f"warning: {server.target.label} server exited with status {server.proc.returncode}; "
            f"stderr:\n{stderr}")


@contextmanager
def running_server(target: Target) -> Iterator[Server]:
    """Start target's server, wait until it listens, and always stop it."""
    command, marker, port = server_command(target)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        server = Server(target, proc, out, err, port)
        try:
            line = wait_ready(server, marker)
            server.port = port or int(line.split()[1])
            yield server
        finally:
            stop(server)
        report_server_output(server)


# -- clients ------------------------------------------------------------------


def run_client(command: list[str], timeout: float, what: str) -> str:
    """Run a client to completion and return its stdout, or fail with what it printed."""
    try:
        done = subprocess.run(command, cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"{what} client did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BenchmarkError(f"{what} client exited with status {done.returncode}; "
                             f"stdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-4000:]}")
    return done.stdout


def pingpong_bytes_per_s(server: Server, size: int, conns: int, warmup: float, seconds: float) -> float:
    """Bytes per second the uvloop ping-pong client received from this server."""
    command = [sys.executable, "-m", "benchmarks.pingpong_client", "--port", str(server.port),
               "--size", str(size), "--conns", str(conns), "--warmup", str(warmup), "--seconds", str(seconds),
               *(["--tls"] if server.target.tls else [])]
    stdout = run_client(command, warmup + seconds + CLIENT_SLACK, server.target.label)
    result = json.loads(stdout.strip().splitlines()[-1])
    if server.proc.poll() is not None or result["lost"] or not result["bytes"]:
        raise BenchmarkError(f"{server.target.label} server misbehaved: client saw {result}, server "
                             f"status {server.proc.poll()}; server stderr:\n{server.stderr_tail()}")
    return result["bytes"] / result["seconds"]


def iperf3_bytes_per_s(server: Server, size: int, conns: int, warmup: float, seconds: float) -> float:
    """iperf3's received bandwidth; it takes whole seconds and at most 128 streams."""
    command = ["iperf3", "-c", "127.0.0.1", "-p", str(server.port), "-J", "-l", str(size),
               "-P", str(min(conns, IPERF3_MAX_STREAMS)),
               "-t", str(max(1, math.ceil(seconds))), "-O", str(math.ceil(warmup))]
    report = json.loads(run_client(command, warmup + seconds + CLIENT_SLACK, "iperf3"))
    if "error" in report:
        raise BenchmarkError(f"iperf3: {report['error']}")
    return report["end"]["sum_received"]["bits_per_second"] / 8


def measure(target: Target, size: int, conns: int, warmup: float, seconds: float) -> float:
    """Bytes per second for one target at one point, on a fresh server."""
    client = iperf3_bytes_per_s if target.impl == "iperf3" else pingpong_bytes_per_s
    with running_server(target) as server:
        return client(server, size, conns, warmup, seconds)


# -- the sweep ----------------------------------------------------------------


def make_row(target: Target, size: int, conns: int, bytes_per_s: float) -> dict:
    return {"impl": target.impl, "threads": target.threads, "tls": target.tls, "size": size, "conns": conns,
            "mib_s": round(bytes_per_s / MIB, 2), "msgs_s": round(bytes_per_s / size)}


def sweep(targets: list[Target], sizes: list[int], conns_list: list[int], warmup: float,
          seconds: float, repeat: int) -> tuple[list[dict], int]:
    """Rows (median of `repeat` runs) for every target at every point, and how many runs failed.

    The order of targets rotates from round to round, so no target always runs
    first (or last) after a change of load.
    """
    points = [(size, conns) for size in sizes for conns in conns_list]
    rows: list[dict] = []
    failures = 0
    runs = len(points) * repeat * len(targets)
    done = 0
    for index, (size, conns) in enumerate(points):
        samples: dict[Target, list[float]] = {target: [] for target in targets}
        for round_ in range(repeat):
            shift = (index * repeat + round_) % len(targets)
            for target in targets[shift:] + targets[:shift]:
                done += 1
                where = f"[{done}/{runs}] {format_size(size)} x {conns} conns, {target.label}"
                try:
                    samples[target].append(measure(target, size, conns, warmup, seconds))
                except BenchmarkError as exc:
                    failures += 1
                    log(f"{where}: FAILED: {exc}")
                    continue
                log(f"{where}: {samples[target][-1] / MIB:.1f} MiB/s")
        rows += [make_row(target, size, conns, statistics.median(samples[target]))
                 for target in targets if samples[target]]
    return rows, failures


def row_label(row: dict) -> str:
    return Target(row["impl"], row["threads"], row["tls"]).label


def ratios(rows: list[dict], size: int, conns: int) -> dict[str, float]:
    """The best reactor (over its thread counts) divided by asyncio and by uvloop at one point, in
    clear and over TLS apart; and what TLS leaves of each server's clear rate."""
    at_point = [row for row in rows if row["size"] == size and row["conns"] == conns]
    result = {}
    for tls in (False, True):
        same = [row for row in at_point if row["tls"] is tls]
        reactor = max((row["mib_s"] for row in same if row["impl"] == "reactor"), default=None)
        suffix = " TLS" if tls else ""
        for row in same:
            if reactor is not None and row["impl"] in ("asyncio", "uvloop") and row["mib_s"]:
                result[f"reactor/{row['impl']}{suffix}"] = reactor / row["mib_s"]
    for row in at_point:
        clear = next((other for other in at_point if not other["tls"] and other["impl"] == row["impl"]
                      and other["threads"] == row["threads"]), None)
        if row["tls"] and clear is not None and clear["mib_s"]:
            result[f"{Target(row['impl'], row['threads']).label} TLS/clear"] = row["mib_s"] / clear["mib_s"]
    return result


def log_summary(rows: list[dict]) -> None:
    """One line per point: MiB/s of each target, then the reactor's ratios."""
    points = sorted({(row["size"], row["conns"]) for row in rows})
    log("\nMiB/s per point (reactor = best of its thread counts in the ratios):")
    for size, conns in points:
        cells = [f"{row_label(r)} {r['mib_s']:.1f}"
                 for r in rows if (r["size"], r["conns"]) == (size, conns)]
        shares = [f"{name} {value:.2f}" for name, value in ratios(rows, size, conns).items()]
        marker = "  <--" if (size, conns) == SUMMARY_POINT else ""
        log(f"  {format_size(size):>6} x {conns:>3}: {', '.join(cells)} | {', '.join(shares)}{marker}")


def draw_png(rows: list[dict], path: Path) -> None:
    """MiB/s against block size, one subplot per connection count, log axes (iperf3 dwarfs the rest)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    conns_list = sorted({row["conns"] for row in rows})
    labels = list(dict.fromkeys(row_label(row) for row in rows))
    fig, axes = plt.subplots(1, len(conns_list), figsize=(5 * len(conns_list), 4.5), sharey=True,
                             squeeze=False)
    for ax, conns in zip(axes[0], conns_list, strict=True):
        for label in labels:
            points = sorted((row["size"], row["mib_s"]) for row in rows
                            if row["conns"] == conns and row_label(row) == label)
            if points:
                ax.plot(*zip(*points, strict=True), "o-", label=label)
        ax.set_xscale("log", base=2)
        sizes = sorted({row["size"] for row in rows})
        ax.set_xticks(sizes, [format_size(size) for size in sizes])
        ax.set_yscale("log")
        ax.set_title(f"{conns} connection{'s' if conns > 1 else ''}")
        ax.set_xlabel("block size")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("MiB/s echoed back (iperf3: one way)")
    axes[0][-1].legend()
    fig.suptitle("ping-pong echo on loopback")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="ping-pong benchmark: reactor vs asyncio, uvloop, iperf3")
    parser.add_argument("--quick", action="store_true", help="only 16 KiB x 100 connections (under a minute)")
    parser.add_argument("--impls", default=",".join(IMPLS), help=f"subset of {','.join(IMPLS)}")
    parser.add_argument("--reactor-threads", type=parse_ints, default=[1, 2],
                        help="reactor I/O loop thread counts to measure (default 1,2)")
    parser.add_argument("--sizes", type=parse_sizes, help="block sizes, e.g. 64,4k,16k,64k (the default)")
    parser.add_argument("--conns", type=parse_ints, help="connection counts, e.g. 1,10,100 (the default)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds measured per run (default 3)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per run (default 1)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per target and point, interleaved; rows give the median (default 1)")
    parser.add_argument("--tls", choices=("off", "on", "both"), default="off",
                        help="echo servers in clear (default), over TLS, or both side by side")
    parser.add_argument("--png", type=Path, help="also draw MiB/s across the sweep to this PNG")
    args = parser.parse_args(argv)
    args.impls = [impl.strip() for impl in args.impls.split(",")]
    unknown = set(args.impls) - set(IMPLS)
    if unknown:
        parser.error(f"unknown --impls {sorted(unknown)}; choose from {','.join(IMPLS)}")
    if "iperf3" in args.impls and shutil.which("iperf3") is None:
        parser.error("iperf3 is not installed; install it or leave it out of --impls")
    args.sizes = args.sizes or ([16384] if args.quick else list(FULL_SIZES))
    args.conns = args.conns or ([100] if args.quick else list(FULL_CONNS))
    return args


def make_targets(impls: list[str], reactor_threads: list[int], tls: str = "off") -> list[Target]:
    modes = {"off": [False], "on": [True], "both": [False, True]}[tls]
    targets = []
    for impl in impls:
        if impl == "iperf3":
            targets.append(Target(impl, None))  # raw loopback: there is no TLS to it
            continue
        for secure in modes:
            if impl == "reactor":
                targets += [Target("reactor", threads, secure) for threads in reactor_threads]
            else:
                targets.append(Target(impl, 1, secure))
    return targets


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows, failures = sweep(make_targets(args.impls, args.reactor_threads, args.tls), args.sizes, args.conns,
                           args.warmup, args.seconds, args.repeat)
    print("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]", flush=True)
    log_summary(rows)
    if args.png and rows:
        draw_png(rows, args.png)
        log(f"wrote {args.png}")
    if failures:
        log(f"{failures} measurement(s) failed; see FAILED above")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
