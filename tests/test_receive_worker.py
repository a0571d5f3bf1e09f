"""ReceiveWorker: pictures and sound of the others, the newest picture only, and who is speaking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import QObject, pyqtSignal
from PyQt5.QtGui import QImage

from protocol.media import Codec, MediaSource, StreamKind
from qt_client.media.audio_source import ToneSource
from qt_client.media.opus_codec import OpusEncoder
from qt_client.media.test_pattern_source import TestPatternSource, read_frame_number
from qt_client.media.video_codec import make_video_encoder
from qt_client.workers.receive_worker import ReceiveWorker
from tests.conftest import running_meeting_server
from tests.tls_support import bot_tls_flags
from tests.worker_support import member, running

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def server(tmp_path: Any) -> Iterator[Any]:
    with running_meeting_server(f"sqlite:///{tmp_path}/m.db") as server:
        yield server


@pytest.fixture
def ada(server: Any) -> Iterator[Any]:
    client = member(server.control_port, "ada")
    yield client
    client.close()


def pixels(image: QImage) -> np.ndarray:
    """The RGB888 image as an array, to read the test pattern's frame number back."""
    bits = image.constBits()
    bits.setsize(image.byteCount())
    rows = np.frombuffer(bits, np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :3 * image.width()].reshape(image.height(), image.width(), 3).copy()


def send_video(client: Any, codec: Codec, seconds: float, fps: float = 30, keyframe_interval: float = 2.0,
               source: MediaSource = MediaSource.CAMERA) -> int:
    """Send the test pattern at 320x240 from this thread; returns the last frame number sent."""
    pattern = TestPatternSource(320, 240, fps)
    encoder = make_video_encoder(codec, 320, 240, fps, keyframe_interval_s=keyframe_interval)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        frame, _ = pattern.read()
        encoded = encoder.encode(frame)
        if encoded is not None:
            client.send_media(StreamKind.VIDEO, codec, encoded.payload, keyframe=encoded.keyframe,
                              capture_us=client.server_clock_us(), source=source)
        time.sleep(1 / fps)
    encoder.close()
    return pattern.frame_number - 1


def test_shows_a_bots_video_at_its_size_and_plays_its_audio(qtbot: Any, server: Any, ada: Any) -> None:
    worker = ReceiveWorker(ada)
    pictures: dict[int, list[QImage]] = {}
    audio: list[tuple[int, np.ndarray]] = []
    speaking: list[tuple[int, bool]] = []

    def paint() -> None:  # what the room grid does on frames_ready
        for (user_id, source), image in worker.frames.take().items():
            assert source is MediaSource.CAMERA
            pictures.setdefault(user_id, []).append(image)

    worker.frames_ready.connect(paint)
    worker.audio_frame.connect(lambda user_id, pcm: audio.append((user_id, pcm)))
    worker.peer_speaking.connect(lambda user_id, on: speaking.append((user_id, on)))
    pushes = ada.push_queue()
    bot = subprocess.Popen(
        [sys.executable, "-m", "qt_client.bot", "--server", f"127.0.0.1:{server.control_port}",
         "--user", "bot", "--password", "bot-password", "--room", ada.room["room_id"], "--codec", "jpeg",
         "--size", "320x240", "--fps", "15", "--seconds", "1.5", "--linger", "0", *bot_tls_flags()],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with running(worker, "receive"):
            qtbot.waitUntil(lambda: sum(map(len, pictures.values())) >= 10, timeout=4500)
    finally:
        stdout, stderr = bot.communicate(timeout=10)
    assert bot.returncode == 0, stderr
    bot_id = next(m["user_id"] for push in iter(pushes.get_nowait, None) if push["type"] == "members"
                  for m in push["members"] if m["username"] == "bot")
    assert json.loads(stdout.strip().splitlines()[-1])["sent"]["video_frames"] >= 10
    assert set(pictures) == {bot_id}
    assert all((image.width(), image.height()) == (320, 240) for image in pictures[bot_id])
    assert all(read_frame_number(pixels(image)) is not None for image in pictures[bot_id])
    assert audio and {user_id for user_id, _ in audio} == {bot_id}
    assert all(pcm.shape == (960,) and pcm.dtype == np.int16 for _, pcm in audio)
    assert (bot_id, True) in speaking


def test_a_gui_that_does_not_paint_gets_one_wake_up_and_then_only_the_newest_picture(
        qtbot: Any, server: Any, ada: Any) -> None:
    bob = member(server.control_port, "bob", ada.room["room_id"])
    worker = ReceiveWorker(ada)
    wake_ups: list[int] = []
    stats: list[dict] = []
    worker.frames_ready.connect(lambda: wake_ups.append(1))
    worker.stats.connect(stats.append)
    try:
        with running(worker, "receive"):
            last_sent = send_video(bob, Codec.JPEG, 1.5)
            time.sleep(0.15)  # the playout delay, for the last frame
            qtbot.waitUntil(lambda: bool(stats) and stats[-1].get(bob.user_id, {}).get("camera_fps", 0) > 10,
                            timeout=1500)
            latest = worker.frames.take()
    finally:
        bob.close()
    assert len(wake_ups) == 1  # dozens decoded, one wake-up: no queue of pictures behind the GUI
    assert set(latest) == {(bob.user_id, MediaSource.CAMERA)}
    assert read_frame_number(pixels(latest[bob.user_id, MediaSource.CAMERA])) == last_sent


def test_joining_an_h264_stream_mid_way_asks_for_a_key_frame(qtbot: Any, server: Any, ada: Any) -> None:
    bob = member(server.control_port, "bob", ada.room["room_id"])
    worker = ReceiveWorker(ada)
    sender = threading.Thread(target=send_video, args=(bob, Codec.H264, 1.5),
                              kwargs={"keyframe_interval": 60})
    try:
        send_video(bob, Codec.H264, 0.2, keyframe_interval=60)  # the key frame goes out before we listen
        with running(worker, "receive"), qtbot.waitSignal(worker.keyframe_needed, timeout=1500) as needed:
            sender.start()
        sender.join()
        assert needed.args == [bob.user_id, MediaSource.CAMERA]
        assert worker.frames.take() == {}  # nothing to show until a key frame comes
    finally:
        bob.close()


def test_a_peer_who_stops_sending_audio_shows_as_silent(qtbot: Any, server: Any, ada: Any) -> None:
    bob = member(server.control_port, "bob", ada.room["room_id"])
    worker = ReceiveWorker(ada)
    speaking: list[tuple[int, bool]] = []
    levels: list[tuple[int, float]] = []
    worker.peer_speaking.connect(lambda user_id, on: speaking.append((user_id, on)))
    worker.peer_level.connect(lambda user_id, level: levels.append((user_id, level)))
    tone, encoder = ToneSource(48000), OpusEncoder(48000)
    try:
        with running(worker, "receive"):
            for _ in range(25):  # half a second of voice, then the detector stops sending
                bob.send_media(StreamKind.AUDIO, Codec.OPUS, encoder.encode(tone.read()),
                               capture_us=bob.server_clock_us())
                time.sleep(0.02)
            qtbot.waitUntil(lambda: speaking == [(bob.user_id, True), (bob.user_id, False)], timeout=1000)
    finally:
        bob.close()
    voiced = [level for _, level in levels[:-1]]
    assert voiced and max(voiced) > -20
    assert len(voiced) <= 0.6 * 20 + 2  # at most 20 meter readings a second
    assert levels[-1] == (bob.user_id, -100.0)


def test_camera_and_screen_are_two_pictures_and_hidden_streams_are_not_decoded(
        qtbot: Any, server: Any, ada: Any) -> None:
    bob = member(server.control_port, "bob", ada.room["room_id"])
    worker = ReceiveWorker(ada)
    shown = {(bob.user_id, MediaSource.SCREEN): (160, 160)}  # only the screen, in a 160x160 box
    set_shown = _Caller(worker.set_shown)
    stats: list[dict] = []
    worker.stats.connect(stats.append)
    camera = threading.Thread(target=send_video, args=(bob, Codec.H264, 4.0),
                              kwargs={"keyframe_interval": 60})
    try:
        with running(worker, "receive"):
            set_shown.call(shown)
            camera.start()
            send_video(bob, Codec.JPEG, 1.5, fps=10, source=MediaSource.SCREEN)
            qtbot.waitUntil(lambda: bool(stats) and stats[-1].get(bob.user_id, {}).get("hidden_skipped", 0)
                            > 20, timeout=2500)
            latest = worker.frames.take()
            assert set(latest) == {(bob.user_id, MediaSource.SCREEN)}
            screen = latest[bob.user_id, MediaSource.SCREEN]
            assert (screen.width(), screen.height()) == (160, 120)  # shrunk to its box, aspect kept
            assert stats[-1][bob.user_id]["screen_fps"] > 0

            # The camera's tile shows again: the H.264 stream restarts from a key frame, asked for.
            with qtbot.waitSignal(worker.keyframe_needed, timeout=2000) as needed:
                set_shown.call(None)
            assert needed.args == [bob.user_id, MediaSource.CAMERA]
            camera.join()
    finally:
        bob.close()


class _Caller(QObject):
    """Calls a worker's slot the way the GUI must: through a queued signal."""

    signal = pyqtSignal(object)

    def __init__(self, slot: Any) -> None:
        super().__init__()
        self.signal.connect(slot)

    def call(self, value: Any) -> None:
        self.signal.emit(value)
