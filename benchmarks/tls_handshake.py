"""How long a TLS handshake with the meeting server takes, and what it costs the server's CPU.

    python -m benchmarks.tls_handshake [--count 200] > docs/benchmarks/tls_handshake.json

Starts server_main.py (TLS on, a self-signed ECDSA P-256 certificate made in a
temporary data directory), then, one after another, `--count` times each:
a plain TCP connect that is closed at once (the floor), and a connect plus a
full TLS handshake with Python's default client context (TLS 1.3, the server's
certificate as CA, so the chain and host name are checked as a client does).
Prints one JSON object: milliseconds (median, p90, p99) for each, and the
server's CPU milliseconds per handshake (user and system, from /proc).
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.relay_servers import cpu_seconds, free_port_triple, stop_process
from benchmarks.soak import NO_HTTP

ROOT = Path(__file__).resolve().parent.parent


def start_server(workdir: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1", "--port",
                               str(port), "--db", f"sqlite:///{workdir}/m.db", "--data-dir", str(workdir),
                               "--stats-interval", "0", "--log-level", "WARNING", *NO_HTTP],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port + 2), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.05)
    stop_process(server, "server")
    raise RuntimeError("the server did not start")


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 3),
            "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 3)}


def tcp_connect(port: int) -> float:
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)):
        return time.perf_counter() - began


def tls_handshake(port: int, context: ssl.SSLContext) -> tuple[float, str, str]:
    began = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        elapsed = time.perf_counter() - began
        return elapsed, tls.version() or "", tls.cipher()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="TLS handshake time and server CPU per handshake")
    parser.add_argument("--count", type=int, default=200, help="handshakes (and plain connects) to time")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tls_handshake_") as tmp:
        workdir = Path(tmp)
        port = free_port_triple()
        server = start_server(workdir, port)
        try:
            context = ssl.create_default_context(cafile=str(workdir / "tls" / "server.crt"))
            tcp = [tcp_connect(port) for _ in range(args.count)]
            before = cpu_seconds(server.pid)
            handshakes = [tls_handshake(port, context) for _ in range(args.count)]
            time.sleep(0.2)  # the server's side of the last close
            after = cpu_seconds(server.pid)
        finally:
            stop_process(server, "server")
    user, system = after[0] - before[0], after[1] - before[1]
    result = {"count": args.count, "version": handshakes[0][1], "cipher": handshakes[0][2],
              "certificate": "ECDSA P-256, self-signed", "tcp_connect": summary(tcp),
              "tls_connect_and_handshake": summary([elapsed for elapsed, _, _ in handshakes]),
              "server_cpu_ms_per_handshake": {"user": round(user * 1000 / args.count, 3),
                                              "system": round(system * 1000 / args.count, 3)}}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
