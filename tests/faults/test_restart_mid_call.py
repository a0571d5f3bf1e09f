"""kill -9 (or SIGTERM) mid-call: three bots and a watcher in a room (ordinary or persistent); the
server is stopped and started again; every bot's media reaches the watcher again within 5 s of the
server listening."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from protocol.media import StreamKind
from tests.conftest import free_base_port, wait_until
from tests.faults.test_chat_survives_a_crash import start_server
from tests.tls_support import bot_tls_flags, meeting_client

ROOT = Path(__file__).resolve().parents[2]
BOT_SECONDS = 30


def start_bot(port: int, name: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{port}",
                             "--user", name, "--password", "bot-password", "--codec", "jpeg",
                             "--size", "160x120", "--fps", "10", "--pre-encoded", "--no-decode",
                             "--linger", "0", "--seconds", str(BOT_SECONDS), *bot_tls_flags(), *args],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class Watcher:
    """A member that notes when each sender's video last arrived."""

    def __init__(self, port: int) -> None:
        self.last_video: dict[int, float] = {}
        self.lock = threading.Lock()
        self.client = meeting_client("127.0.0.1", port, request_timeout=3.0)
        self.client.on_media = self._arrived
        self.client.connect()
        self.client.register("watcher", "secret-pw")
        self.client.login("watcher", "secret-pw")

    def _arrived(self, header: Any, _payload: Any) -> None:
        if header.stream is StreamKind.VIDEO:
            with self.lock:
                self.last_video[header.sender_id] = time.monotonic()

    def senders_since(self, moment: float) -> set[int]:
        with self.lock:
            return {sender for sender, at in self.last_video.items() if at > moment}


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
@pytest.mark.parametrize("persistent", [False, True], ids=["ordinary-room", "persistent-room"])
def test_every_bot_is_heard_again_within_5_s_of_a_restart(tmp_path: Any, persistent: bool,
                                                         stop: signal.Signals) -> None:
    port, db = free_base_port(), tmp_path / "m.db"
    server = start_server(port, db)
    bots: list[subprocess.Popen] = []
    watcher = None
    try:
        first = start_bot(port, "bot0", "--create-room", *(["--persistent"] if persistent else []))
        bots.append(first)
        room_id = json.loads(first.stdout.readline())["room"]
        bots += [start_bot(port, f"bot{n}", "--room", room_id) for n in (1, 2)]
        watcher = Watcher(port)
        watcher.client.join_room(room_id)
        assert wait_until(lambda: len(watcher.senders_since(time.monotonic() - 0.5)) == 3, timeout=15)

        server.send_signal(stop)
        server.wait(15)
        time.sleep(1.0)
        server = start_server(port, db)
        listening = time.monotonic()
        back = wait_until(lambda: len(watcher.senders_since(listening)) == 3, timeout=5.0)
        assert back, f"heard again after the restart: {sorted(watcher.senders_since(listening))}"
    finally:
        if watcher is not None:
            watcher.client.close()
        for bot in bots:
            bot.terminate()
        for bot in bots:
            bot.wait(15)
        server.kill()
        server.wait(10)
