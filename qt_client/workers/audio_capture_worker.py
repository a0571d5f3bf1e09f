"""Microphone -> echo canceller -> voice detector -> Opus -> server, on the worker's own thread."""

from __future__ import annotations

import logging
import time

import numpy as np
from PyQt5.QtCore import QIODevice, QObject, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtMultimedia import QAudio, QAudioDeviceInfo, QAudioInput

from protocol.media import Codec, StreamKind
from qt_client.media.audio_source import FRAMES_PER_SECOND, AudioSource, SilenceSource, ToneSource
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


class AudioCaptureWorker(QObject):
    """Sends a 20 ms Opus frame for each frame of voice; silence is not sent, and shows as muted.

    Uses the default microphone (QAudioInput, 16-bit mono) when there is one, else
    `fallback` ("silence" or "tone") paced by a timer, and says so (`source_fallback`).
    The echo canceller's reference is what the playback worker wrote into `far_end`.
    """

    level = pyqtSignal(float)
    speaking = pyqtSignal(bool)
    source_fallback = pyqtSignal(str)

    def __init__(self, client: MeetingClient, far_end: FarEndBuffer, *, sample_rate: int = 48000,
                 use_microphone: bool = True, fallback: str = "silence", vad: bool = True,
                 vad_aggressiveness: int = 2, muted: bool = False, echo_cancelling: bool = True) -> None:
        super().__init__()
        if fallback not in SYNTHETIC:
            raise ValueError(f"fallback must be one of {', '.join(SYNTHETIC)}, not {fallback!r}")
        self.client = client
        self.far_end = far_end
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // FRAMES_PER_SECOND
        self.use_microphone = use_microphone
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

    # -- on the worker's thread ---------------------------------------------------

    @pyqtSlot()
    def start(self) -> None:
        self._encoder = OpusEncoder(self.sample_rate)
        if self.echo_cancelling:
            self._canceller = EchoCanceller(self.sample_rate, self.frame_samples)
        self._detector = VoiceDetector(self.sample_rate, self.vad_aggressiveness) if self.vad else None
        if not (self.use_microphone and self._open_microphone()):
            self._start_synthetic()

    @pyqtSlot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._input is not None:
            self._input.stop()
            self._input = None
        self._set_speaking(False)

    @pyqtSlot(bool)
    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        if muted:
            self._set_speaking(False)
            self.level.emit(FLOOR_DB)

    def _open_microphone(self) -> bool:
        device = QAudioDeviceInfo.defaultInputDevice()
        if device.isNull():
            self.source_fallback.emit("No microphone found: using a synthetic source")
            return False
        audio_format = pcm16_mono(self.sample_rate)
        if not device.isFormatSupported(audio_format):
            self.source_fallback.emit(f"The microphone {device.deviceName()} cannot record 16-bit mono at "
                                      f"{self.sample_rate} Hz: using a synthetic source")
            return False
        self._input = QAudioInput(device, audio_format, self)
        # A few frames of buffer: enough to ride out a busy moment, small enough not to add delay.
        self._input.setBufferSize(4 * 2 * self.frame_samples)
        self._device = self._input.start()
        if self._input.error() != QAudio.NoError or self._device is None:
            self.source_fallback.emit(f"The microphone {device.deviceName()} failed to open: "
                                      "using a synthetic source")
            self._input = None
            return False
        self._device.readyRead.connect(self._read_microphone)
        return True

    def _start_synthetic(self) -> None:
        self._synthetic = SYNTHETIC[self.fallback](self.sample_rate)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick_synthetic)
        self._started = time.monotonic()
        self._timer.start(FRAME_MS)

    @pyqtSlot()
    def _read_microphone(self) -> None:
        assert self._device is not None
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
