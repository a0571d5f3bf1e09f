"""The client in a real X server (Xvfb): windows open, render and can be photographed."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from PyQt5.QtGui import QImage

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.skipif(shutil.which("Xvfb") is None,
                    reason="Xvfb not installed (scripts/setup.sh installs the xvfb package)")
def test_screenshots_of_login_lobby_and_a_call_of_five(tmp_path):
    script = os.path.join(ROOT, "scripts", "screenshots.py")
    result = subprocess.run([sys.executable, script, "--out", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    shots = json.loads(result.stdout.strip().splitlines()[-1])["screenshots"]
    assert sorted(os.path.basename(p) for p in shots) == ["lobby.png", "login.png", "presenting.png",
                                                          "room_grid.png", "room_speaker.png"]
    for name in ("room_grid.png", "room_speaker.png", "presenting.png"):
        room = QImage(str(tmp_path / name))
        assert (room.width(), room.height()) == (1280, 720)
        # Live tiles of colour bars (or a slide), not a blank or black window.
        colours = {room.pixel(x, y) for x in range(0, 1280, 40) for y in range(0, 720, 40)}
        assert len(colours) > 20, name
