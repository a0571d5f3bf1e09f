"""Screenshots of the desktop client in a real X server (Xvfb): login, lobby, and a call of five
in grid view, in speaker view, and with a screen being presented.

    .venv/bin/python scripts/screenshots.py                 # writes docs/screenshots/*.png
    .venv/bin/python scripts/screenshots.py --out /tmp/shots

Starts its own Xvfb, a server on a temporary SQLite file, the client, and bots
sending the test pattern (one of them later shares a slide); everything it
starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.desktop_session import (  # noqa: E402  (after the path is set)
    meeting_server,
    server_cert,
    settle,
    start_bot,
    stop_bots,
    wait_for,
    xvfb_display,
)

SCREEN = "1280x800x24"
ROOM_SIZE = (1280, 720)
BOT_ARGS = ("--size", "640x480", "--codec", "jpeg", "--seconds", "90", "--audio", "tone")


def shoot(window, path: Path) -> None:
    """Grab the window from the X server, as a person would see it."""
    from PyQt5.QtWidgets import QApplication

    settle(0.5)
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
    settings.ca_file = str(server_cert(workdir))
    meeting = MeetingApp(settings)
    bots = []
    try:
        login = meeting.login_window
        login.resize(420, 260)
        login.set_fields(f"127.0.0.1:{port}", "ada")
        login.password_edit.setText("secret-pw")
        wait_for(login.isVisible, 5, "the login window")
        shoot(login, out / "login.png")

        login.register_button.click()
        wait_for(meeting.lobby.isVisible, 15, "the lobby")
        lobby = meeting.lobby
        lobby.resize(760, 560)
        lobby.display_name_edit.setText("Ada Lovelace")
        lobby.signature_edit.setText("Analytical engines, mostly")
        lobby.save_profile_button.click()
        wait_for(lambda: lobby.message_label.text() == "Profile saved.", 10, "the profile saved")
        lobby.create_title_edit.setText("Design review")
        shoot(lobby, out / "lobby.png")

        lobby.create_button.click()
        room = meeting.room_window
        wait_for(room.isVisible, 15, "the room window")
        room.resize(*ROOM_SIZE)
        room_id = room.room_id
        bots = [start_bot(port, room_id, name, *BOT_ARGS, ca_file=server_cert(workdir))
                for name in ("grace", "alan", "linus", "barbara")]
        grid = room.grid
        wait_for(lambda: len(grid.user_ids) == 5, 30, "five participants")
        wait_for(lambda: all(grid.tile(uid).frames_shown > 5 for uid in grid.user_ids), 30, "live video")
        room.chat.input.setText("Shall we start with the relay?")
        room.chat.send_button.click()
        settle(1.5)
        shoot(room, out / "room_grid.png")

        bots[-1].terminate()  # barbara leaves: the chat says so
        wait_for(lambda: len(grid.user_ids) == 4, 15, "barbara to leave")
        room.action_view.trigger()  # speaker view
        settle(3.0)
        shoot(room, out / "room_speaker.png")

        bots.append(start_bot(port, room_id, "hopper", *BOT_ARGS, "--screen", "slide", "--video", "none",
                              ca_file=server_cert(workdir)))
        wait_for(lambda: grid.presentation_tile() is not None and grid.presentation_tile().frames_shown > 0,
                 30, "the presentation")
        settle(1.5)
        shoot(room, out / "presenting.png")
    finally:
        stop_bots(bots)
        meeting.close()
        app.quit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    if shutil.which("Xvfb") is None:
        print("Xvfb is not installed (Debian package xvfb; scripts/setup.sh installs it)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, xvfb_display(SCREEN, tmp):
        workdir = Path(tmp)
        with meeting_server(workdir) as port:
            run_client(port, args.out, workdir)
    print(json.dumps({"screenshots": sorted(str(p) for p in args.out.glob("*.png"))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
