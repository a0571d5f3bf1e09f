"""Microphone -> echo canceller -> voice detector -> Opus -> server, on the worker's own thread."""

from __future__ import annotations

import logging
import time

import numpy as np
from PyQt5.QtCore import QIODevice, QObject, Qt, QThread, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtMultimedia import QAudio, QAudioDeviceInfo, QAudioInput

from protocol.media import Codec, StreamKind
from qt_client.media.audio_source import (
    FRAMES_PER_SECOND,
    AudioSource,
    SilenceSource,
    ToneSource,
    synthetic_source,
)
from qt_client.media.echo_canceller import EchoCanceller
from qt_client.media.opus_codec import OpusEncoder
from qt_client.media.voice_detector import FLOOR_DB, VoiceDetector, level_db
from qt_client.net.errors import NotConnectedError
from qt_client.net.meeting_client import MeetingClient
from qt_client.workers.audio_format import pcm16_mono
from qt_client.workers.far_end_buffer import FarEndBuffer

log = logging.getLogger(__name__)

FRAME_MS = 1000 // FRAMES_PER_SECOND
LEVEL_INTERVAL = 0.05  # seconds: a meter cannot show more than 20 levels a second
MAX_CATCH_UP = 5  # frames made up at once after the thread was held up; more are skipped
SYNTHETIC = {"tone": ToneSource, "silence": SilenceSource}
SENDING = {"tone": "sending a test tone", "silence": "sending silence"}


class AudioCaptureWorker(QObject):
    """Sends a 20 ms Opus frame for each frame of voice; silence is not sent, and shows as muted.

    `microphone` decides the source: "default" (the system's input device), a Qt
    device name, or a synthetic source ("tone", "silence", "wav:PATH") paced by a
    timer. A device that cannot be opened is replaced by `fallback` (silence unless
    told otherwise), and `source_fallback` says so in plain words; `set_microphone`
    switches source mid-call and tries the device again. Without `microphone`, the
    older `use_microphone` (the default device) or `fallback` decide.
    The echo canceller's reference is what the playback worker wrote into `far_end`.
    """

    level = pyqtSignal(float)
    speaking = pyqtSignal(bool)
    source_fallback = pyqtSignal(str)
    # A call from another thread is re-sent through these, queued to the worker's own thread.
    _muted_requested = pyqtSignal(bool)
    _microphone_requested = pyqtSignal(str)

    def __init__(self, client: MeetingClient, far_end: FarEndBuffer, *, sample_rate: int = 48000,
                 microphone: str | None = None, use_microphone: bool = True, fallback: str = "silence",
                 vad: bool = True, vad_aggressiveness: int = 2, muted: bool = False,
                 echo_cancelling: bool = True) -> None:
        super().__init__()
        if fallback not in SYNTHETIC:
            raise ValueError(f"fallback must be one of {', '.join(SYNTHETIC)}, not {fallback!r}")
        self.client = client
        self.far_end = far_end
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // FRAMES_PER_SECOND
        if microphone is None:
            microphone = "default" if use_microphone else fallback
        self.microphone = microphone
        self.fallback = fallback
        self.vad = vad
        self.vad_aggressiveness = vad_aggressiveness
        self.echo_cancelling = echo_cancelling
        self.sent = 0
        self._muted = muted
        self._speaking = False
        self._last_level = 0.0
        self._encoder: OpusEncoder | None = None
        self._canceller: EchoCanceller | None = None
        self._detector: VoiceDetector | None = None
        self._input: QAudioInput | None = None
        self._device: QIODevice | None = None
        self._pending = bytearray()  # microphone bytes short of a whole frame
        self._synthetic: AudioSource | None = None
        self._timer: QTimer | None = None
        self._started = 0.0
        self._produced = 0
        self._muted_requested.connect(self.set_muted, Qt.QueuedConnection)
        self._microphone_requested.connect(self.set_microphone, Qt.QueuedConnection)

    # -- on the worker's thread (a call from elsewhere is queued to it) ------------

    @pyqtSlot()
    def start(self) -> None:
        self._encoder = OpusEncoder(self.sample_rate)
        if self.echo_cancelling:
            self._canceller = EchoCanceller(self.sample_rate, self.frame_samples)
        self._detector = VoiceDetector(self.sample_rate, self.vad_aggressiveness) if self.vad else None
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick_synthetic)
        self._open_source()

    @pyqtSlot()
    def stop(self) -> None:
        self._close_source()
        self._set_speaking(False)

    @pyqtSlot(bool)
    def set_muted(self, muted: bool) -> None:
        if not self._on_own_thread():
            self._muted_requested.emit(muted)
            return
        self._muted = muted
        if muted:
            self._set_speaking(False)
            self.level.emit(FLOOR_DB)

    @pyqtSlot(str)
    def set_microphone(self, microphone: str) -> None:
        """Switch to another source ("default", a device name, "tone", "silence", "wav:PATH")."""
        if not self._on_own_thread():
            self._microphone_requested.emit(microphone)
            return
        self.microphone = microphone
        if self._encoder is None:
            return  # not started yet: start() opens it
        self._close_source()
        self._open_source()

    def _on_own_thread(self) -> bool:
        # Timers and QAudioInput may only be started and stopped on the thread they live on.
        return QThread.currentThread() is self.thread()

    def _open_source(self) -> None:
        try:
            synthetic = synthetic_source(self.microphone, self.sample_rate)
        except (OSError, ValueError) as exc:
            self._fall_back(f"{exc}")
            return
        if synthetic is not None:
            self._start_synthetic(synthetic)
            return
        problem = self._open_microphone(self.microphone)
        if problem is not None:
            self._fall_back(problem)

    def _close_source(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._synthetic is not None:
            self._synthetic.close()
            self._synthetic = None
        if self._input is not None:
            if self._device is not None:
                self._device.readyRead.disconnect(self._read_microphone)
            self._input.stop()
            self._input.deleteLater()
            self._input = self._device = None
        self._pending.clear()

    def _fall_back(self, problem: str) -> None:
        self._start_synthetic(SYNTHETIC[self.fallback](self.sample_rate))
        self.source_fallback.emit(f"{problem}: {SENDING[self.fallback]}")

    def _open_microphone(self, name: str) -> str | None:
        """Start recording from the named device ("default": the system's); the problem if it cannot."""
        device = _input_device(name)
        if device is None:
            return "No microphone found" if name == "default" else f"Microphone \"{name}\" not found"
        audio_format = pcm16_mono(self.sample_rate)
        if not device.isFormatSupported(audio_format):
            return f"The microphone {device.deviceName()} cannot record 16-bit mono at {self.sample_rate} Hz"
        audio_input = QAudioInput(device, audio_format, self)
        # A few frames of buffer: enough to ride out a busy moment, small enough not to add delay.
        audio_input.setBufferSize(4 * 2 * self.frame_samples)
        io_device = audio_input.start()
        if audio_input.error() != QAudio.NoError or io_device is None:
            audio_input.deleteLater()
            return f"The microphone {device.deviceName()} failed to open"
        self._input, self._device = audio_input, io_device
        io_device.readyRead.connect(self._read_microphone)
        return None

    def _start_synthetic(self, source: AudioSource) -> None:
        assert self._timer is not None
        self._synthetic = source
        self._started = time.monotonic()
        self._produced = 0
        self._timer.start(FRAME_MS)

    @pyqtSlot()
    def _read_microphone(self) -> None:
        if self._device is None:
            return  # switched away from the microphone since Qt queued this
        self._pending += bytes(self._device.readAll())
        frame_bytes = 2 * self.frame_samples
        while len(self._pending) >= frame_bytes:
            pcm = np.frombuffer(self._pending[:frame_bytes], dtype="<i2").astype(np.int16)
            del self._pending[:frame_bytes]
            self._process(pcm)

    @pyqtSlot()
    def _tick_synthetic(self) -> None:
        # Timers fire late, never early: count frames by the clock, so 50 a second go out on average.
        due = int((time.monotonic() - self._started) * FRAMES_PER_SECOND) - self._produced
        self._produced += due
        assert self._synthetic is not None
        for _ in range(min(due, MAX_CATCH_UP)):
            self._process(self._synthetic.read())

    def _process(self, pcm: np.ndarray) -> None:
        assert self._encoder is not None
        # Read even when muted, so that the reference stays in step with the microphone.
        far = self.far_end.read(self.frame_samples)
        if self._muted:
            return
        cleaned = self._canceller.process(pcm, far) if self._canceller is not None else pcm
        speech = self._detector.is_speech(cleaned) if self._detector is not None else True
        self._report_level(cleaned)
        self._set_speaking(speech)
        if not speech:
            return
        try:
            self.client.send_media(StreamKind.AUDIO, Codec.OPUS, self._encoder.encode(cleaned),
                                   capture_us=self.client.server_clock_us())
        except NotConnectedError:
            return  # reconnecting: the frame is lost, as it would be on a bad line
        self.sent += 1

    def _report_level(self, frame: np.ndarray) -> None:
        now = time.monotonic()
        if now - self._last_level >= LEVEL_INTERVAL:
            self._last_level = now
            self.level.emit(level_db(frame))

    def _set_speaking(self, speaking: bool) -> None:
        if speaking != self._speaking:
            self._speaking = speaking
            self.speaking.emit(speaking)


def _input_device(name: str) -> QAudioDeviceInfo | None:
    """The input device called `name` ("default": the system's), or None when there is none."""
    if name == "default":
        device = QAudioDeviceInfo.defaultInputDevice()
        return None if device.isNull() else device
    for device in QAudioDeviceInfo.availableDevices(QAudio.AudioInput):
        if not device.isNull() and device.deviceName() == name:
            return device
    return None
