"""AudioCaptureWorker without a microphone: a synthetic source, Opus frames out, nothing when muted."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import QObject, pyqtSignal

from protocol.media import Codec, StreamKind
from qt_client.media.opus_codec import OpusDecoder
from qt_client.media.voice_detector import FLOOR_DB, level_db
from qt_client.workers.audio_capture_worker import AudioCaptureWorker
from qt_client.workers.far_end_buffer import FarEndBuffer
from tests.worker_support import drain, media_since, running, sender_and_receiver


class MuteButton(QObject):
    toggled = pyqtSignal(bool)


@pytest.fixture
def pair(tmp_path: Any) -> Iterator[tuple[Any, queue.Queue]]:
    with sender_and_receiver(f"sqlite:///{tmp_path}/m.db") as both:
        yield both


def test_without_a_microphone_a_tone_goes_out_as_opus_and_mute_silences_it(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    worker = AudioCaptureWorker(ada, FarEndBuffer(48000), sample_rate=48000, fallback="tone")
    mute = MuteButton()
    mute.toggled.connect(worker.set_muted)
    levels: list[float] = []
    worker.level.connect(levels.append)
    with qtbot.waitSignal(worker.source_fallback, timeout=2000) as fallback, \
            qtbot.waitSignal(worker.speaking, timeout=2000) as speaking, running(worker, "audio"):
        frames = media_since(received, StreamKind.AUDIO, 1.0)
        assert 40 <= len(frames) <= 60  # 50 a second, paced by the clock
        assert all(header.codec is Codec.OPUS and header.sender_id == ada.user_id for header, _ in frames)
        decoder = OpusDecoder(48000)
        pcm = np.concatenate([decoder.decode(payload) for _, payload in frames[5:]])
        assert level_db(pcm) > -20  # the tone survived echo cancelling and Opus

        qtbot.waitUntil(lambda: bool(levels) and levels[-1] > -20, timeout=500)
        with qtbot.waitSignal(worker.speaking, timeout=1000) as stopped:
            mute.toggled.emit(True)
        time.sleep(0.1)
        drain(received)
        assert media_since(received, StreamKind.AUDIO, 0.5) == []
        qtbot.waitUntil(lambda: levels[-1] == FLOOR_DB, timeout=500)
    assert fallback.args == ["No microphone found: using a synthetic source"]
    assert speaking.args == [True] and stopped.args == [False]


def test_silence_is_not_sent_but_is_metered_and_the_echo_reference_is_consumed(qtbot: Any, pair: Any) -> None:
    ada, received = pair
    far_end = FarEndBuffer(16000)
    far_end.write(np.full(16000, 1000, dtype=np.int16))  # a second of "played" audio
    worker = AudioCaptureWorker(ada, far_end, sample_rate=16000, fallback="silence")
    levels: list[float] = []
    worker.level.connect(levels.append)
    with running(worker, "audio"):
        assert media_since(received, StreamKind.AUDIO, 0.6) == []
    qtbot.waitUntil(lambda: len(levels) >= 5, timeout=1000)  # queued to this thread: let them in
    assert set(levels) == {FLOOR_DB}
    # 320 samples per 20 ms frame taken as the reference, frame by frame.
    assert 16000 - 320 * 40 <= len(far_end) <= 16000 - 320 * 20
