"""A shared screen arrives as it is: a real X screen of an odd size, grabbed by the client,
sent as the screen stream, decoded by a peer, and compared with a direct grab."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from benchmarks.desktop_session import xvfb_server
from protocol.media import MediaSource, StreamKind
from qt_client.media.video_codec import make_video_decoder
from tests.conftest import running_meeting_server
from tests.desktop_support import drain_frames
from tests.tls_support import cert_path, meeting_client

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None,
                                reason="Xvfb not installed (scripts/setup.sh installs the xvfb package)")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255 ** 2 / error)


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1023, 767)])
def test_a_shared_screen_arrives_sharp_unstretched_and_whole(tmp_path: Any, width: int, height: int) -> None:
    with (running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server,
          xvfb_server(f"{width}x{height}x24") as display):
        peer = meeting_client("127.0.0.1", server.control_port)
        peer.connect()
        peer.register("watcher", "secret-pw")
        peer.login("watcher", "secret-pw")
        room_id = peer.create_room(title="Screens")["room"]["room_id"]
        frames = peer.media_queue(4096)
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "XDG_RUNTIME_DIR": str(tmp_path)}
        driver = subprocess.Popen([sys.executable, "-m", "tests.screen_share_driver", "--port",
                                   str(server.control_port), "--room", room_id, "--out", str(tmp_path),
                                   "--ca-file", str(cert_path())],
                                  cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        try:
            if driver.stdout.readline().strip() != "grabbed":
                driver.wait(10)
                pytest.fail(f"the client did not share its screen: {driver.stderr.read()[-3000:]}")
            time.sleep(1.0)  # a frame or two more of the still picture
            screens = [(header, bytes(payload)) for header, payload in drain_frames(frames)
                       if header.stream is StreamKind.VIDEO and header.source is MediaSource.SCREEN]
            latest = screens[-1] if screens else None
        finally:
            driver.stdin.close()
            driver.wait(30)
            peer.close()
    assert latest is not None, "no screen frame arrived"
    header, payload = latest
    picture = make_video_decoder(header.codec).decode(payload)
    direct = cv2.imread(str(tmp_path / "direct.png"), cv2.IMREAD_COLOR)
    assert direct.shape[:2] == (height, width)
    assert picture.shape[:2] == (height, width)  # the screen's own size: no stretching, nothing cut
    assert psnr(picture, direct) >= 30
