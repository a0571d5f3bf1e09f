"""Server -> the shared receive pipeline -> the GUI (newest picture per stream) and the playback worker."""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Hashable
from typing import Any

import numpy as np
from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal, pyqtSlot

from protocol.media import MediaHeader, MediaSource
from qt_client.media.receive_pipeline import ReceivePipeline
from qt_client.media.voice_detector import FLOOR_DB, level_db
from qt_client.net.meeting_client import MeetingClient
from qt_client.workers.images import rgb_to_qimage
from qt_client.workers.latest_frames import LatestFrames

log = logging.getLogger(__name__)

POLL_MS = 10  # half the audio frame time: no frame waits longer, and 100 wake-ups a second, not 200
MAX_FRAMES_PER_POLL = 256  # then back to the event loop, so that stop() and the setters get a turn
STATS_INTERVAL_MS = 1000
SILENT_AFTER = 0.3  # seconds without audio: senders stop sending silence, so this is silence
LEVEL_INTERVAL = 0.05  # seconds: at most 20 meter readings a second per person

StreamKey = tuple[int, MediaSource]  # (user id, camera or screen)


class ReceiveWorker(QObject):
    """Feeds a ReceivePipeline on its own thread and turns what it plays into Qt signals.

    Pictures are not queued to the GUI: the newest per stream waits in `frames`
    (a LatestFrames keyed by (user id, MediaSource)), and `frames_ready` wakes the
    GUI only once it has taken the previous batch. Decoded audio goes out as
    `audio_frame` (connect it to the playback worker's `push_frame` with a direct
    connection). Every setter is a slot: call it through a queued signal, never
    directly from the GUI thread.
    """

    frames_ready = pyqtSignal()
    audio_frame = pyqtSignal(int, object)
    peer_level = pyqtSignal(int, float)
    peer_speaking = pyqtSignal(int, bool)
    keyframe_needed = pyqtSignal(int, int)  # user id, MediaSource
    stats = pyqtSignal(object)  # {user_id: {...}}: int keys, which a QVariantMap would not keep

    def __init__(self, client: MeetingClient, *, sample_rate: int = 48000, playout_delay_ms: int = 40,
                 queue_size: int = 512) -> None:
        super().__init__()
        self.client = client
        self.frames = LatestFrames()
        # Made now, not on start: frames that arrive while the thread spins up are kept.
        self._queue = client.media_queue(queue_size)
        self._pipeline = ReceivePipeline(client.server_clock_us, sample_rate=sample_rate,
                                         playout_delay_ms=playout_delay_ms, on_audio=self._play_audio,
                                         on_video=self._show_video, ask_keyframe=self._ask_keyframe,
                                         video_wanted=self._video_wanted, video_fit=self._video_fit, rgb=True)
        # None: decode everything (until the GUI says what it shows).
        self._wanted: set[StreamKey] | None = None
        self._sizes: dict[StreamKey, tuple[int, int]] = {}
        self._audio: dict[int, _AudioActivity] = {}
        self._poll: QTimer | None = None
        self._stats_timer: QTimer | None = None

    # -- on the worker's thread ---------------------------------------------------

    @pyqtSlot()
    def start(self) -> None:
        self._poll = QTimer(self)
        self._poll.setTimerType(Qt.PreciseTimer)
        self._poll.timeout.connect(self._receive)
        self._poll.start(POLL_MS)
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self._emit_stats)
        self._stats_timer.start(STATS_INTERVAL_MS)

    @pyqtSlot()
    def stop(self) -> None:
        for timer in (self._poll, self._stats_timer):
            if timer is not None:
                timer.stop()
        self._pipeline.close()

    @pyqtSlot(list)
    def set_members(self, members: list[dict[str, Any]]) -> None:
        """Forget people who left: their decoders, and a picture the GUI has not taken yet."""
        present = {int(member["user_id"]) for member in members}
        self._pipeline.keep_only(present)
        for user_id in [user_id for user_id in self._audio if user_id not in present]:
            del self._audio[user_id]
        self.frames.keep_only(lambda key: key[0] in present)

    @pyqtSlot(object)
    def set_shown(self, shown: dict[StreamKey, tuple[int, int]] | None) -> None:
        """Which streams have a visible tile, at what pixel size; the rest is not decoded (None: all)."""
        if shown is None:
            self._wanted, self._sizes = None, {}
            return
        self._wanted, self._sizes = set(shown), dict(shown)
        self.frames.keep_only(self._wanted.__contains__)

    @pyqtSlot()
    def _receive(self) -> None:
        for _ in range(MAX_FRAMES_PER_POLL):
            try:
                header, payload = self._queue.get_nowait()
            except queue.Empty:
                break
            self._pipeline.arrive(header, payload)
        self._pipeline.play_due()
        self._check_silence()

    def _video_wanted(self, user_id: int, source: MediaSource) -> bool:
        return self._wanted is None or (user_id, source) in self._wanted

    def _video_fit(self, user_id: int, source: MediaSource) -> tuple[int, int] | None:
        size = self._sizes.get((user_id, source))
        return size if size and size[0] > 0 and size[1] > 0 else None

    def _show_video(self, user_id: int, source: MediaSource, rgb: np.ndarray, _: MediaHeader) -> None:
        key: Hashable = (user_id, source)
        if self.frames.offer(key, rgb_to_qimage(rgb)):
            self.frames_ready.emit()

    def _ask_keyframe(self, user_id: int, source: MediaSource) -> None:
        # The session worker asks: a round trip never stalls decoding here.
        self.keyframe_needed.emit(user_id, int(source))

    def _play_audio(self, user_id: int, pcm: np.ndarray, _: MediaHeader) -> None:
        self.audio_frame.emit(user_id, pcm)
        activity = self._audio.get(user_id)
        if activity is None:
            activity = self._audio[user_id] = _AudioActivity()
        now = time.monotonic()
        activity.last_audio = now
        if not activity.speaking:
            activity.speaking = True
            self.peer_speaking.emit(user_id, True)
        if now - activity.last_level >= LEVEL_INTERVAL:
            activity.last_level = now
            self.peer_level.emit(user_id, level_db(pcm))

    def _check_silence(self) -> None:
        now = time.monotonic()
        for user_id, activity in self._audio.items():
            if activity.speaking and now - activity.last_audio > SILENT_AFTER:
                activity.speaking = False
                self.peer_speaking.emit(user_id, False)
                self.peer_level.emit(user_id, FLOOR_DB)

    @pyqtSlot()
    def _emit_stats(self) -> None:
        # Not report(): its percentiles sort every latency kept, which grows through a long call.
        self.stats.emit(self._pipeline.quality())


class _AudioActivity:
    """Whether one person is heard now, and when their meter last moved."""

    __slots__ = ("last_audio", "last_level", "speaking")

    def __init__(self) -> None:
        self.last_audio = 0.0
        self.last_level = 0.0
        self.speaking = False
