"""Screenshots of the desktop client in a real X server (Xvfb): login, lobby, a room of three.

    .venv/bin/python scripts/screenshots.py                 # writes docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

Starts its own Xvfb, a server on a temporary SQLite file, the client, and two
bots sending the test pattern; everything it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCREEN = "1280x800x24"


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


def wait_for(predicate, timeout: float, what: str) -> None:
    from PyQt5.QtWidgets import QApplication

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.02)


def settle(seconds: float) -> None:
    from PyQt5.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def shoot(window, path: Path) -> None:
    """Grab the window from the X server, as a person would see it."""
    from PyQt5.QtWidgets import QApplication

    settle(0.3)
    pixmap = QApplication.primaryScreen().grabWindow(int(window.winId()))
    if not pixmap.save(str(path)):
        raise RuntimeError(f"could not write {path}")
    print(f"wrote {path} ({pixmap.width()}x{pixmap.height()})", file=sys.stderr)


def run_client(port: int, out: Path, workdir: Path) -> None:
    from PyQt5.QtWidgets import QApplication

    from qt_client.app import MeetingApp
    from qt_client.ui.client_settings import ClientSettings

    app = QApplication(sys.argv[:1])
    settings = ClientSettings(str(workdir / "client.ini"))
    settings.microphone, settings.codec, settings.size = "tone", "jpeg", "640x480"
    meeting = MeetingApp(settings)
    bots: list[subprocess.Popen] = []
    try:
        login = meeting.login_window
        login.resize(420, 260)
        login.set_fields(f"127.0.0.1:{port}", "ada")
        login.password_edit.setText("secret-pw")
        wait_for(login.isVisible, 5, "the login window")
        shoot(login, out / "login.png")

        login.register_button.click()
        wait_for(meeting.lobby.isVisible, 15, "the lobby")
        meeting.lobby.resize(760, 560)
        meeting.lobby.display_name_edit.setText("Ada Lovelace")
        meeting.lobby.signature_edit.setText("Analytical engines, mostly")
        meeting.lobby.create_title_edit.setText("Design review")
        shoot(meeting.lobby, out / "lobby.png")

        meeting.lobby.create_button.click()
        wait_for(meeting.room_window.isVisible, 15, "the room window")
        room_id = meeting.room_window.room_id
        meeting.room_window.resize(1200, 720)
        for name in ("grace", "alan"):
            bots.append(subprocess.Popen(
                [sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{port}", "--user", name,
                 "--password", "bot-password", "--room", room_id, "--size", "640x480", "--codec", "jpeg",
                 "--seconds", "30", "--audio", "tone"],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        grid = meeting.room_window.grid
        wait_for(lambda: len(grid.user_ids) == 3, 30, "three participants")
        wait_for(lambda: all(grid.tile(uid).frames_shown > 5 for uid in grid.user_ids), 30, "live video")
        meeting.room_window.chat.input.setText("Shall we start with the relay?")
        meeting.room_window.chat.send_button.click()
        settle(1.0)
        shoot(meeting.room_window, out / "room.png")
    finally:
        for bot in bots:
            bot.terminate()
        meeting.close()
        for bot in bots:
            bot.wait(10)
        app.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if shutil.which("Xvfb") is None:
        print("Xvfb is not installed (Debian package xvfb; scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    display = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", SCREEN, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_base_port()
        server = subprocess.Popen([sys.executable, str(ROOT / "server_main.py"), "--host", "127.0.0.1",
                                   "--port", str(port), "--db", f"sqlite:///{workdir}/m.db",
                                   "--log-level", "WARNING"], cwd=workdir)
        try:
            deadline = time.monotonic() + 10
            while not Path(f"/tmp/.X11-unix/X{display}").exists():
                if time.monotonic() > deadline or xvfb.poll() is not None:
                    raise RuntimeError(f"Xvfb did not start on :{display}")
                time.sleep(0.05)
            os.environ["DISPLAY"] = f":{display}"
            os.environ["QT_QPA_PLATFORM"] = "xcb"
            os.environ["XDG_RUNTIME_DIR"] = tmp
            run_client(port, args.out, workdir)
        finally:
            server.terminate()
            server.wait(10)
            xvfb.terminate()
            xvfb.wait(10)
    print(json.dumps({"screenshots": sorted(str(p) for p in args.out.glob("*.png"))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
