"""What the desktop client's scripts share: an Xvfb display, a server on a temporary database,
bots, and waiting on Qt's event loop. Used by benchmarks/client_cpu.py and scripts/screenshots.py."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks.soak import NO_HTTP

ROOT = Path(__file__).resolve().parent.parent


def free_display() -> int:
    for number in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    raise RuntimeError("no free X display number between :90 and :199")


def free_base_port() -> int:
    """A port whose next two are free too (control, audio, video)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        try:
            for port in (base, base + 1, base + 2):
                with socket.socket() as check:
                    check.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no three consecutive free ports")


@contextlib.contextmanager
def xvfb_server(screen: str) -> Iterator[str]:
    """An Xvfb server of `screen` ("WxHxDEPTH"); yields its DISPLAY (":N")."""
    display = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", screen, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if time.monotonic() > deadline or xvfb.poll() is not None:
                raise RuntimeError(f"Xvfb did not start on :{display}")
            time.sleep(0.05)
        yield f":{display}"
    finally:
        xvfb.terminate()
        xvfb.wait(10)


@contextlib.contextmanager
def xvfb_display(screen: str, runtime_dir: str) -> Iterator[str]:
    """An Xvfb server of `screen`, made this process's Qt display while it runs."""
    with xvfb_server(screen) as display:
        os.environ["DISPLAY"] = display
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        os.environ["XDG_RUNTIME_DIR"] = runtime_dir
        yield display


def server_cert(workdir: Path) -> Path:
    """The self-signed certificate the server makes on first start in workdir: clients trust it as a CA."""
    return workdir / "data" / "tls" / "server.crt"


@contextlib.contextmanager
def meeting_server(workdir: Path) -> Iterator[int]:
    """The real server (server_main.py, TLS on) on a fresh SQLite file; yields its control port."""
    port = free_base_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1",
                               "--port", str(port), "--db", f"sqlite:///{workdir}/m.db",
                               "--log-level", "WARNING", *NO_HTTP], cwd=workdir)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the meeting server did not start")
            time.sleep(0.05)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def start_bot(port: int, room_id: str, name: str, *args: str, ca_file: Path) -> subprocess.Popen:
    """A headless participant (python -m qt_client.bot) in the room; extra bot flags in args."""
    return subprocess.Popen([sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{port}",
                             "--user", name, "--password", "bot-password", "--room", room_id,
                             "--ca-file", str(ca_file), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_bots(bots: list[subprocess.Popen]) -> None:
    for bot in bots:
        bot.terminate()
    for bot in bots:
        bot.wait(10)


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Run Qt's events until predicate() holds; TimeoutError naming `what` otherwise."""
    from PyQt5.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.02)


def settle(seconds: float) -> None:
    """Run Qt's events for a while (pictures arrive, layouts settle)."""
    from PyQt5.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)
