"""A soak run: N bots in rooms of 5 for M minutes against a real server process; prints JSON.

    .venv/bin/python -m benchmarks.soak --bots 10 --minutes 10
    .venv/bin/python -m benchmarks.soak --bots 5 --minutes 1 --kill-at 30   # with a kill -9 and restart

Reports the server's resident memory and open file descriptors over time (and
their drift from the first sample after everyone joined to the last), the
delivered ratio (video frames each bot received from the others, over what
the others sent; pre-encoded bots, no decoding), and how many tracebacks the
server's and the bots' logs held. Only loopback traffic; the run ends by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ROOM_SIZE = 5
# Every bot is one more account from 127.0.0.1, and a bot's first login (before it registers) is a
# wrong one: the server's guessing limits per address are for strangers, not for a load tool.
# The load tools' servers serve no browser: no HTTP endpoint on PORT+3 (their free-port pickers look
# at three ports).
NO_HTTP = ["--http-port", "-1"]
LOAD_TOOL_LIMITS = ["--rate-limit", "login_per_address=none", "--rate-limit", "register_per_address=none"]
SAMPLE_EVERY = 5.0


def free_base_port() -> int:
    from benchmarks.desktop_session import free_base_port as free

    return free()


def start_server(port: int, workdir: Path, log: Any) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1", "--port",
                               str(port), "--db", f"sqlite:///{workdir}/soak.db", "--log-level", "WARNING",
                               *LOAD_TOOL_LIMITS, *NO_HTTP],
                              cwd=workdir, stdout=log, stderr=log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not start")


def process_figures(pid: int) -> tuple[float, int]:
    """(resident MiB, open fds) of a process."""
    rss = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def start_bots(port: int, count: int, seconds: float, workdir: Path) -> list[tuple[subprocess.Popen, Path]]:
    bots: list[tuple[subprocess.Popen, Path]] = []
    room_id = ""
    for n in range(count):
        err = workdir / f"bot{n}.err"
        args = [sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{port}", "--user", f"soak{n}",
                "--password", "soak-password", "--codec", "jpeg", "--size", "320x240", "--fps", "15",
                "--pre-encoded", "--no-decode", "--seconds", str(seconds), "--linger", "2",
                # The certificate the server made in workdir on its first start (kept across restarts).
                "--ca-file", str(workdir / "data" / "tls" / "server.crt")]
        room_size = min(ROOM_SIZE, count - n // ROOM_SIZE * ROOM_SIZE)
        args += ["--wait-members", str(room_size)]
        args += ["--create-room", "--persistent"] if n % ROOM_SIZE == 0 else ["--room", room_id]
        bot = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=err.open("w"), text=True)
        if n % ROOM_SIZE == 0:
            room_id = json.loads(bot.stdout.readline())["room"]
        bots.append((bot, err))
    return bots


def delivered_ratio(reports: list[dict[str, Any]]) -> float | None:
    sent = {report["user"]: report["sent"]["video_frames"] for report in reports}
    expected = received = 0
    for report in reports:
        for name, peer in report.get("peers", {}).items():
            if name in sent:
                expected += sent[name]
                received += peer["video_frames"]
    return round(received / expected, 4) if expected else None


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    port = free_base_port()
    server_log = (workdir / "server.err").open("w")
    server = start_server(port, workdir, server_log)
    seconds = args.minutes * 60
    bots = start_bots(port, args.bots, seconds, workdir)
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    killed = False
    try:
        while any(bot.poll() is None for bot, _ in bots) and time.monotonic() - started < seconds + 60:
            time.sleep(SAMPLE_EVERY)
            elapsed = time.monotonic() - started
            if args.kill_at and not killed and elapsed >= args.kill_at:
                server.send_signal(signal.SIGKILL)
                server.wait(10)
                server = start_server(port, workdir, server_log)
                killed = True
                continue
            if server.poll() is None:
                rss, fds = process_figures(server.pid)
                samples.append({"t": round(elapsed, 1), "rss_mib": round(rss, 1), "fds": fds})
        reports = []
        for bot, _ in bots:
            out, _ = bot.communicate(timeout=120)
            lines = [line for line in out.strip().splitlines() if line.startswith("{")]
            report = json.loads(lines[-1]) if lines else {}
            if "user" in report:
                reports.append(report)
    finally:
        for bot, _ in bots:
            bot.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(15)
        server_log.close()
    # Drift while everyone is in: from the first sample after joining to the last before the bots stop.
    steady = [s for s in samples if min(30.0, seconds / 2) <= s["t"] <= seconds] or samples
    tracebacks = {"server": (workdir / "server.err").read_text().count("Traceback"),
                  "bots": sum(err.read_text().count("Traceback") for _, err in bots)}
    return {"bots": args.bots, "minutes": args.minutes, "kill_at": args.kill_at,
            "bot_reports": len(reports), "delivered_ratio": delivered_ratio(reports),
            "rss_mib": {"first": steady[0]["rss_mib"], "last": steady[-1]["rss_mib"],
                        "max": max(s["rss_mib"] for s in samples)} if steady else None,
            "fds": {"first": steady[0]["fds"], "last": steady[-1]["fds"]} if steady else None,
            "tracebacks": tracebacks, "bot_errors": [e for r in reports for e in r.get("errors", [])],
            "samples": samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=10)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--kill-at", type=float, default=0.0, help="kill -9 and restart the server after S s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
