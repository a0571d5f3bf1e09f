"""What a call costs the desktop client: CPU and memory with four others, in grid and speaker view.

    .venv/bin/python -m benchmarks.client_cpu                  # 30 s per view, prints JSON
    .venv/bin/python -m benchmarks.client_cpu --seconds 10 --views grid

Starts Xvfb, a server on a temporary SQLite file, the desktop client in this
process (a real window, 1280x720) and four bots sending 640x480 H.264 at 15 fps
with a tone. For each view it measures, over the window: the client's CPU (user
plus system, all its threads) as % of one core, its resident memory, and the
pictures painted per tile per second. The goal for a 5-person call in grid view:
under 20 % of one core.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.desktop_session import (
    meeting_server,
    server_cert,
    settle,
    start_bot,
    stop_bots,
    wait_for,
    xvfb_display,
)

WINDOW = (1280, 720)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def thread_cpu_seconds() -> dict[str, float]:
    """CPU seconds so far of each thread of this process, by thread name (QThreads carry theirs)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_events(seconds: float) -> None:
    """Qt's own event loop for a while: what the client does when nobody measures."""
    from PyQt5.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec_()


def measure_view(meeting: Any, view: str, seconds: float, profile: int) -> dict[str, Any]:
    grid = meeting.room_window.grid
    grid.set_view_mode(view)
    run_events(3.0)  # layouts settle, hidden streams stop decoding, shown ones get key frames
    tiles = {uid: grid.tile(uid) for uid in grid.user_ids if uid != meeting.profile["user_id"]}
    painted_before = {uid: tile.frames_shown for uid, tile in tiles.items()}
    cpu_before, wall_before, threads_before = cpu_seconds(), time.monotonic(), thread_cpu_seconds()
    if profile:
        import yappi

        yappi.set_clock_type("cpu")
        yappi.start()
    rss_samples = []
    for _ in range(max(1, round(seconds))):
        run_events(seconds / max(1, round(seconds)))
        rss_samples.append(rss_mib())
    if profile:
        yappi.stop()
        print_profile(yappi, view, profile)
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds() - cpu_before
    threads_after = thread_cpu_seconds()
    by_thread = {name: round(100 * (spent - threads_before.get(name, 0.0)) / wall, 1)
                 for name, spent in threads_after.items()}
    painted = [round((tile.frames_shown - painted_before[uid]) / wall, 1) for uid, tile in tiles.items()]
    return {"view": view, "seconds": round(wall, 1), "cpu_percent": round(100 * cpu / wall, 1),
            "rss_mib": {"mean": round(sum(rss_samples) / len(rss_samples), 1),
                        "max": round(max(rss_samples), 1)},
            "painted_per_tile_per_s": sorted(painted, reverse=True),
            "cpu_percent_by_thread": dict(sorted(((n, p) for n, p in by_thread.items() if p >= 0.5),
                                                 key=lambda item: -item[1]))}


def print_profile(yappi: Any, view: str, top: int) -> None:
    """The functions that cost most CPU in all threads (own time and with callees), to stderr."""
    stats = yappi.get_func_stats()
    for key, title in (("ttot", "with callees"), ("tsub", "own time")):
        stats.sort(key, "desc")
        print(f"-- {view}: top {top} by CPU {title} (seconds) --", file=sys.stderr)
        for entry in list(stats)[:top]:
            print(f"{entry.ttot:8.3f} {entry.tsub:8.3f} {entry.ncall:8d}  {entry.full_name}", file=sys.stderr)
    yappi.clear_stats()


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from PyQt5.QtWidgets import QApplication

    from qt_client.app import MeetingApp
    from qt_client.ui.client_settings import ClientSettings

    app = QApplication(sys.argv[:1])
    settings = ClientSettings(str(workdir / "client.ini"))
    settings.microphone, settings.camera = "tone", "testpattern"
    settings.codec, settings.size, settings.fps = args.codec, args.size, args.fps
    settings.ca_file = str(server_cert(workdir))  # made when the server starts, read when we connect
    meeting = MeetingApp(settings)
    bots = []
    try:
        with meeting_server(workdir) as port:
            login = meeting.login_window
            login.set_fields(f"127.0.0.1:{port}", "me")
            login.password_edit.setText("secret-pw")
            login.register_button.click()
            wait_for(meeting.lobby.isVisible, 15, "the lobby")
            meeting.lobby.create_button.click()
            wait_for(meeting.room_window.isVisible, 15, "the room window")
            meeting.room_window.resize(*WINDOW)
            room_id = meeting.room_window.room_id
            seconds = len(args.views) * (args.seconds + 5) + 30
            bots = [start_bot(port, room_id, f"bot{i}", "--codec", args.codec, "--size", args.size,
                              "--fps", str(args.fps), "--audio", "tone", "--seconds", str(seconds),
                              "--pre-encoded", "--no-decode", ca_file=server_cert(workdir))
                    for i in range(args.bots)]
            grid = meeting.room_window.grid
            wait_for(lambda: len(grid.user_ids) == args.bots + 1, 30, "everyone in the room")
            settle(2.0)
            views = [measure_view(meeting, view, args.seconds, args.profile) for view in args.views]
    finally:
        stop_bots(bots)
        meeting.close()
        app.quit()
    return {"participants": args.bots + 1, "codec": args.codec, "size": args.size, "fps": args.fps,
            "window": f"{WINDOW[0]}x{WINDOW[1]}", "views": views}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time per view")
    parser.add_argument("--views", type=lambda text: text.split(","), default=["grid", "speaker"])
    parser.add_argument("--bots", type=int, default=4)
    parser.add_argument("--codec", default="h264", choices=["h264", "jpeg", "vp8"])
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile all threads with yappi (slows the client); print the top N functions")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, xvfb_display("1920x1080x24", tmp):
        report = run(args, Path(tmp))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
