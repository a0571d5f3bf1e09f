"""How soon a call is back after the server restarts: N bots in rooms of 5, the server killed and
started again; for every bot, the seconds from the new server listening to its video reaching its room
again. Prints JSON.

    .venv/bin/python -m benchmarks.restart_recovery --bots 20 --runs 3
    .venv/bin/python -m benchmarks.restart_recovery --bots 20 --signal term --rooms persistent

Each room has a watcher (a MeetingClient in this process) that notes when each sender's video
arrives; the bots are pre-encoded and do not decode, so the figures are the network's and the
server's, not the codecs'. The bots' reconnect policy (qt_client/net/reconnect_policy.py) waits
a random 0-250 ms before the first attempt, so most of the spread is that jitter, by design.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.soak import LOAD_TOOL_LIMITS, NO_HTTP, free_base_port, process_figures
from protocol.media import StreamKind
from qt_client.net import MeetingClient
from qt_client.net.server_trust import ServerTrust

ROOT = Path(__file__).resolve().parent.parent
ROOM_SIZE = 5
# A bot's run must outlast every restart; they are stopped at the end anyway.
BOT_SECONDS = 3600
# A sender not heard again by then counts as never.
GIVE_UP_AFTER = 30.0


def server_certificate(workdir: Path) -> Path:
    """The self-signed certificate the server makes in its data directory on its first start (and keeps)."""
    return workdir / "data" / "tls" / "server.crt"


def start_server(port: int, workdir: Path, log: Any) -> tuple[subprocess.Popen, float]:
    """The server process and time.monotonic() when it first accepted a connection (polled every 5 ms)."""
    server = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1",
                               "--port", str(port), "--db", f"sqlite:///{workdir}/recovery.db",
                               "--log-level", "WARNING", *LOAD_TOOL_LIMITS, *NO_HTTP],
                              cwd=workdir, stdout=log, stderr=log)  # stdout: the key fingerprint
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, time.monotonic()
        except OSError:
            time.sleep(0.005)
    server.kill()
    raise RuntimeError("the server did not start")


class Watcher:
    """A member of one room that notes when each sender's video first arrived after a moment."""

    def __init__(self, port: int, name: str, room_id: str, certificate: Path) -> None:
        self._lock = threading.Lock()
        self._since = 0.0
        self.first_after: dict[int, float] = {}
        self.client = MeetingClient("127.0.0.1", port, request_timeout=5.0,
                                    trust=ServerTrust(cafile=str(certificate)))
        self.client.on_media = self._arrived
        self.client.connect()
        self.client.register(name, "watcher-password")
        self.client.login(name, "watcher-password")
        self.client.join_room(room_id)

    def _arrived(self, header: Any, _payload: Any) -> None:
        if header.stream is StreamKind.VIDEO:
            now = time.monotonic()
            with self._lock:
                if now > self._since:
                    self.first_after.setdefault(header.sender_id, now)

    def start_watching(self, since: float) -> None:
        """Forget what came before `since`; note each sender's first video after it."""
        with self._lock:
            self._since = since
            self.first_after = {}

    def heard(self) -> dict[int, float]:
        with self._lock:
            return dict(self.first_after)


def start_bots(port: int, count: int, persistent: bool,
               workdir: Path) -> tuple[list[subprocess.Popen], list[str]]:
    bots: list[subprocess.Popen] = []
    rooms: list[str] = []
    for n in range(count):
        args = [sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{port}", "--user", f"bot{n}",
                "--password", "bot-password", "--codec", "jpeg", "--size", "160x120", "--fps", "10",
                "--pre-encoded", "--no-decode", "--linger", "0", "--seconds", str(BOT_SECONDS),
                "--log-level", "INFO",  # each reconnect attempt, in the bot's log under --workdir
                "--ca-file", str(server_certificate(workdir))]
        first_of_room = n % ROOM_SIZE == 0
        if first_of_room:
            args += ["--create-room", *(["--persistent"] if persistent else [])]
        else:
            args += ["--room", rooms[-1]]
        err = (workdir / f"bot{n}.err").open("w")
        bot = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
        if first_of_room:
            rooms.append(json.loads(bot.stdout.readline())["room"])
        bots.append(bot)
    return bots, rooms


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def wait_for_everyone(watchers: list[Watcher], senders: int, timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        heard = {sender: at for watcher in watchers for sender, at in watcher.heard().items()}
        if len(heard) >= senders:
            return heard
        time.sleep(0.01)
    return {sender: at for watcher in watchers for sender, at in watcher.heard().items()}


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    stop = signal.SIGKILL if args.signal == "kill" else signal.SIGTERM
    port = free_base_port()
    server_log = (workdir / "server.err").open("w")
    server, _ = start_server(port, workdir, server_log)
    bots, rooms = start_bots(port, args.bots, args.rooms == "persistent", workdir)
    certificate = server_certificate(workdir)
    watchers = [Watcher(port, f"watcher{n}", room, certificate) for n, room in enumerate(rooms)]
    restarts: list[dict[str, Any]] = []
    try:
        for watcher in watchers:
            watcher.start_watching(time.monotonic())
        everyone = wait_for_everyone(watchers, args.bots, 30.0)
        if len(everyone) < args.bots:
            raise RuntimeError(f"only {len(everyone)} of {args.bots} bots heard before the first restart")
        for _ in range(args.runs):
            time.sleep(args.settle)
            server.send_signal(stop)
            server.wait(15)
            time.sleep(args.down)
            # Watching from the moment the old server is gone: a frame can only come from the new one.
            for watcher in watchers:
                watcher.start_watching(time.monotonic())
            server, listening = start_server(port, workdir, server_log)
            listening_wall = time.time()  # to line the bots' logs up with
            heard = wait_for_everyone(watchers, args.bots, GIVE_UP_AFTER)
            seconds = [round(at - listening, 3) for at in heard.values()]
            rss, fds = process_figures(server.pid)
            restarts.append({"listening_at": round(listening_wall, 3), "heard_again": len(seconds),
                             "of": args.bots,
                             "p50_s": percentile(seconds, 0.5) if seconds else None,
                             "p95_s": percentile(seconds, 0.95) if seconds else None,
                             "max_s": max(seconds) if seconds else None,
                             "seconds": sorted(seconds), "server_rss_mib": round(rss, 1), "server_fds": fds})
    finally:
        for watcher in watchers:
            watcher.client.close()
        for bot in bots:
            bot.terminate()
        for bot in bots:
            try:
                bot.wait(15)
            except subprocess.TimeoutExpired:
                bot.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(15)
        server_log.close()
    every = [s for restart in restarts for s in restart["seconds"]]
    return {"load_1min": {"before": load_before, "after": os.getloadavg()[0], "cpus": os.cpu_count()},
            "bots": args.bots, "rooms": f"{len(rooms)} {args.rooms} rooms of {ROOM_SIZE} (+1 watcher each)",
            "signal": args.signal, "down_s": args.down, "runs": restarts,
            "all_runs": {"samples": len(every), "never_heard": args.bots * len(restarts) - len(every),
                         "p50_s": percentile(every, 0.5) if every else None,
                         "p95_s": percentile(every, 0.95) if every else None,
                         "max_s": max(every) if every else None},
            "tracebacks": {"server": (workdir / "server.err").read_text().count("Traceback"),
                           "bots": sum((workdir / f"bot{n}.err").read_text().count("Traceback")
                                       for n in range(args.bots))}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="restarts, one after another (default 3)")
    parser.add_argument("--signal", choices=["kill", "term"], default="kill",
                        help="how the server is stopped: kill -9 (default) or SIGTERM")
    parser.add_argument("--rooms", choices=["ordinary", "persistent"], default="ordinary")
    parser.add_argument("--down", type=float, default=1.0, help="seconds the server stays down (default 1)")
    parser.add_argument("--settle", type=float, default=3.0,
                        help="seconds of call before each stop (default 3)")
    parser.add_argument("--workdir", type=Path,
                        help="keep the database and the logs here (default: a temporary directory, removed)")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(filename=args.workdir / "watchers.log", level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
        print(json.dumps(run(args, args.workdir)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(args, Path(tmp))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
