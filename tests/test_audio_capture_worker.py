"""AudioCaptureWorker without a microphone: synthetic sources, Opus out, silent when muted, switched live."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PyQt5.QtCore import QObject, pyqtSignal, qInstallMessageHandler

from protocol.media import Codec, StreamKind
from qt_client.media.opus_codec import OpusDecoder
from qt_client.media.voice_detector import FLOOR_DB, level_db
from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.settings_dialog import SettingsDialog
from qt_client.workers.audio_capture_worker import AudioCaptureWorker
from qt_client.workers.far_end_buffer import FarEndBuffer
from tests.worker_support import drain, media_since, running, sender_and_receiver

SPEECH = Path(__file__).parent / "data" / "speech_with_gaps.wav"


class MuteButton(QObject):
    toggled = pyqtSignal(bool)


class MicrophoneMenu(QObject):
    """The GUI side of a switch: a signal, queued across to the worker's thread."""

    chosen = pyqtSignal(str)


@pytest.fixture
def qt_messages() -> Iterator[list[str]]:
    """Every message Qt prints while the test runs (from any thread)."""
    messages: list[str] = []

    def record(kind: Any, context: Any, text: str) -> None:
        messages.append(text)
        if previous is not None:
            previous(kind, context, text)

    previous = qInstallMessageHandler(record)
    try:
        yield messages
    finally:
        qInstallMessageHandler(previous)


def opus_level(frames: list[tuple[Any, bytes]], sample_rate: int = 48000) -> float:
    decoder = OpusDecoder(sample_rate)
    return level_db(np.concatenate([decoder.decode(payload) for _, payload in frames]))


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
    assert fallback.args == ["No microphone found: sending a test tone"]  # the older fallback="tone"
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


def test_tone_chosen_in_the_dialog_is_sent_at_once(qtbot: Any, pair: Any, tmp_path: Path) -> None:
    ada, received = pair
    settings = ClientSettings(str(tmp_path / "c.ini"))
    dialog = SettingsDialog(settings, microphones=[], cameras=[])
    qtbot.addWidget(dialog)
    dialog.microphone_combo.setCurrentIndex(dialog.microphone_combo.findText("Tone (test)"))
    dialog.accept()
    worker = AudioCaptureWorker(ada, FarEndBuffer(48000), sample_rate=48000, microphone=settings.microphone)
    fallbacks: list[str] = []
    worker.source_fallback.connect(fallbacks.append)
    with running(worker, "audio"):
        frames = media_since(received, StreamKind.AUDIO, 0.5)
    assert len(frames) >= 15 and opus_level(frames[3:]) > -20
    qtbot.wait(50)
    assert fallbacks == []


def test_set_microphone_switches_mid_call_on_the_worker_thread(qtbot: Any, pair: Any,
                                                               qt_messages: list[str]) -> None:
    ada, received = pair
    worker = AudioCaptureWorker(ada, FarEndBuffer(48000), sample_rate=48000, microphone="default")
    menu = MicrophoneMenu()
    menu.chosen.connect(worker.set_microphone)
    with qtbot.waitSignal(worker.source_fallback, timeout=2000) as no_device, running(worker, "audio"):
        assert media_since(received, StreamKind.AUDIO, 0.4) == []  # no microphone here: silence

        menu.chosen.emit("tone")
        frames = media_since(received, StreamKind.AUDIO, 0.5)
        assert len(frames) >= 15 and opus_level(frames[3:]) > -20

        with qtbot.waitSignal(worker.speaking, timeout=2000, check_params_cb=lambda on: not on):
            worker.set_microphone("silence")  # a direct call from the GUI thread is queued across too
        drain(received)  # the voice detector's hangover has gone out
        assert media_since(received, StreamKind.AUDIO, 0.4) == []

        with qtbot.waitSignal(worker.source_fallback, timeout=2000) as missing:
            menu.chosen.emit("USB Mic")
        drain(received)
        assert media_since(received, StreamKind.AUDIO, 0.3) == []
        menu.chosen.emit("tone")  # a failed device is not sticky
        assert len(media_since(received, StreamKind.AUDIO, 0.5)) >= 15
    assert no_device.args == ["No microphone found: sending silence"]
    assert missing.args == ['Microphone "USB Mic" not found: sending silence']
    assert [m for m in qt_messages if "thread" in m.lower()] == []


def test_a_wav_file_plays_as_the_microphone_and_a_missing_one_falls_back_to_silence(
        qtbot: Any, pair: Any, tmp_path: Path) -> None:
    ada, received = pair
    worker = AudioCaptureWorker(ada, FarEndBuffer(16000), sample_rate=16000, microphone=f"wav:{SPEECH}")
    with running(worker, "audio"):
        assert len(media_since(received, StreamKind.AUDIO, 1.0)) >= 10  # the speech, not its gaps
    gone = tmp_path / "gone.wav"
    worker = AudioCaptureWorker(ada, FarEndBuffer(16000), sample_rate=16000, microphone=f"wav:{gone}")
    with qtbot.waitSignal(worker.source_fallback, timeout=2000) as fallback, running(worker, "audio"):
        drain(received)
        assert media_since(received, StreamKind.AUDIO, 0.3) == []
    assert fallback.args == [f"no WAV file at {gone}: sending silence"]
