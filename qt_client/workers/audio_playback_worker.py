"""Everyone's decoded audio -> mixer -> speaker, and -> the echo canceller's reference."""

from __future__ import annotations

import collections
import logging
import threading
import time

import numpy as np
from PyQt5.QtCore import QIODevice, QObject, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtMultimedia import QAudio, QAudioDeviceInfo, QAudioOutput

from qt_client.media.audio_source import FRAMES_PER_SECOND
from qt_client.media.mixer import mix
from qt_client.workers.audio_format import pcm16_mono
from qt_client.workers.far_end_buffer import FarEndBuffer

log = logging.getLogger(__name__)

FRAME_MS = 1000 // FRAMES_PER_SECOND
MAX_CATCH_UP = 5  # frames mixed at once after the thread was held up; more are skipped
# Per person: enough to absorb a late burst, short enough that the voice stays close to the lips.
QUEUE_FRAMES = 5


class AudioPlaybackWorker(QObject):
    """Every 20 ms mixes one frame from each person who has one and plays it.

    `push_frame` (any thread) queues a person's decoded frame; a queue that is full
    drops its oldest frame, so delay never builds up. With no speaker the mix goes
    to a null sink (`sink_fallback` says so) but still feeds `far_end`.
    """

    sink_fallback = pyqtSignal(str)

    def __init__(self, far_end: FarEndBuffer, *, sample_rate: int = 48000, use_speaker: bool = True,
                 queue_frames: int = QUEUE_FRAMES) -> None:
        super().__init__()
        self.far_end = far_end
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate // FRAMES_PER_SECOND
        self.use_speaker = use_speaker
        self.queue_frames = queue_frames
        self.mixed = 0  # frames mixed, people speaking or not
        self.dropped = 0  # frames pushed out of a full queue
        self._lock = threading.Lock()
        self._queues: dict[int, collections.deque[np.ndarray]] = {}
        self._output: QAudioOutput | None = None
        self._device: QIODevice | None = None
        self._timer: QTimer | None = None
        self._started = 0.0
        self._ticks = 0

    # -- any thread -------------------------------------------------------------

    @pyqtSlot(int, object)
    def push_frame(self, user_id: int, frame: np.ndarray) -> None:
        """Queue one decoded 20 ms frame of a person; the worker owns the array from now on."""
        with self._lock:
            queue = self._queues.get(user_id)
            if queue is None:
                queue = self._queues[user_id] = collections.deque(maxlen=self.queue_frames)
            if len(queue) == self.queue_frames:
                self.dropped += 1
            queue.append(frame)

    # -- on the worker's thread ---------------------------------------------------

    @pyqtSlot()
    def start(self) -> None:
        if not (self.use_speaker and self._open_speaker()):
            self.sink_fallback.emit("No speaker found: audio is mixed but not played")
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._started = time.monotonic()
        self._timer.start(FRAME_MS)

    @pyqtSlot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        if self._output is not None:
            self._output.stop()
            self._output = None
            self._device = None

    def _open_speaker(self) -> bool:
        device = QAudioDeviceInfo.defaultOutputDevice()
        if device.isNull():
            return False
        audio_format = pcm16_mono(self.sample_rate)
        if not device.isFormatSupported(audio_format):
            log.warning("speaker %s cannot play 16-bit mono at %d Hz", device.deviceName(), self.sample_rate)
            return False
        self._output = QAudioOutput(device, audio_format, self)
        self._output.setBufferSize(4 * 2 * self.frame_samples)
        self._device = self._output.start()
        if self._output.error() != QAudio.NoError or self._device is None:
            log.warning("speaker %s failed to open", device.deviceName())
            self._output = None
            self._device = None
            return False
        return True

    @pyqtSlot()
    def _tick(self) -> None:
        # Timers fire late, never early: count frames by the clock, so playback keeps real time.
        due = int((time.monotonic() - self._started) * FRAMES_PER_SECOND) - self._ticks
        self._ticks += due
        for _ in range(min(due, MAX_CATCH_UP)):
            self._play(self._mix_one())

    def _mix_one(self) -> np.ndarray:
        with self._lock:
            frames = [queue.popleft() for queue in self._queues.values() if queue]
            # Someone who stopped talking (or left) leaves no empty queue behind.
            self._queues = {user_id: queue for user_id, queue in self._queues.items() if queue}
        self.mixed += 1
        return mix(frames, self.frame_samples)

    def _play(self, mixed: np.ndarray) -> None:
        if self._device is not None and self._output is not None:
            data = mixed.astype("<i2").tobytes()
            if self._output.bytesFree() < len(data):
                return  # the device is behind: skip this frame rather than delay all that follow
            self._device.write(data)
        # What was played, and only that, is what the microphone may hear back.
        self.far_end.write(mixed)
