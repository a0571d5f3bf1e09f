"""Runs the desktop client on an X display and shares a known picture, for test_screen_share_xvfb.py.

    python -m tests.screen_share_driver --port P --room ROOM --out DIR

The picture (a checkerboard and lines of 12-pixel text) covers the whole screen
in a window of its own, on top of the room; the client shares the screen; once
frames flow, a direct grab of the screen is saved as DIR/direct.png and "grabbed"
is printed. The process ends when its standard input closes.
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from PyQt5.QtCore import QRect, Qt, QTimer
from PyQt5.QtGui import QColor, QFont, QPainter, QPixmap
from PyQt5.QtWidgets import QApplication, QLabel

from benchmarks.desktop_session import wait_for
from qt_client.app import MeetingApp
from qt_client.ui.client_settings import ClientSettings


def test_picture(width: int, height: int) -> QPixmap:
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.white)
    painter = QPainter(pixmap)
    for y in range(0, height // 2, 16):
        for x in range(0, width, 16):
            if (x // 16 + y // 16) % 2:
                painter.fillRect(x, y, 16, 16, QColor("#1565c0"))
    font = QFont("DejaVu Sans")
    font.setPixelSize(12)
    painter.setFont(font)
    painter.setPen(Qt.black)
    for row, y in enumerate(range(height // 2 + 4, height - 14, 18)):
        painter.drawText(QRect(8, y, width - 16, 16), Qt.AlignLeft,
                         f"Line {row}: the quick brown fox jumps over the lazy dog 0123456789 "
                         f"({width}x{height})")
    painter.end()
    return pixmap


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--room", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--ca-file", required=True, help="the test server's certificate")
    args = parser.parse_args()
    app = QApplication(sys.argv[:1])
    settings = ClientSettings(str(args.out / "client.ini"))
    settings.microphone, settings.codec, settings.size = "silence", "jpeg", "320x240"
    settings.screen_max_size = "native"
    settings.ca_file = args.ca_file
    meeting = MeetingApp(settings)
    login = meeting.login_window
    login.set_fields(f"127.0.0.1:{args.port}", "presenter")
    login.password_edit.setText("secret-pw")
    login.register_button.click()
    wait_for(meeting.lobby.isVisible, 15, "the lobby")
    meeting.lobby.join_id_edit.setText(args.room)
    meeting.lobby.join_button.click()
    wait_for(meeting.room_window.isVisible, 15, "the room")

    screen = app.primaryScreen().geometry()
    cover = QLabel()
    cover.setWindowFlags(Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint)
    cover.setPixmap(test_picture(screen.width(), screen.height()))
    cover.setGeometry(screen)
    cover.show()
    cover.raise_()
    wait_for(cover.isVisible, 5, "the picture")
    meeting.room_window.action_screen.setChecked(True)

    def grab() -> None:
        app.primaryScreen().grabWindow(0).save(str(args.out / "direct.png"))
        print("grabbed", flush=True)

    QTimer.singleShot(2000, grab)
    # Standard input closing (the test is done) ends us.
    done = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    wait_for(done.is_set, 120, "the test to finish")
    meeting.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
