"""Server -> jitter buffers -> decoders -> the GUI (latest picture per person) and the playback worker."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QImage

from protocol.media import Codec, MediaHeader, StreamKind
from qt_client.media.jitter_buffer import JitterBuffer
from qt_client.media.keyframe_gate import KeyframeGate
from qt_client.media.opus_codec import OpusDecoder
from qt_client.media.video_codec import DecodeError, VideoDecoder, make_video_decoder
from qt_client.media.voice_detector import FLOOR_DB, level_db
from qt_client.net.meeting_client import MeetingClient
from qt_client.workers.images import bgr_to_qimage

log = logging.getLogger(__name__)

POLL_MS = 5
MAX_FRAMES_PER_POLL = 256  # then back to the event loop, so that stop() and set_members() get a turn
STATS_INTERVAL_MS = 1000
SILENT_AFTER = 0.3  # seconds without audio: senders stop sending silence, so this is silence
LEVEL_INTERVAL = 0.05  # seconds: at most 20 meter readings a second per person


@dataclass
class _Peer:
    jitter: dict[StreamKind, JitterBuffer]
    video_decoders: dict[Codec, VideoDecoder] = field(default_factory=dict)
    audio_decoder: OpusDecoder | None = None
    keyframes: KeyframeGate = field(default_factory=KeyframeGate)
    last_audio: float = 0.0
    last_level: float = 0.0
    speaking: bool = False
    video_frames: int = 0
    audio_frames: int = 0
    decoded_since_stats: int = 0
    decode_errors: int = 0

    def close(self) -> None:
        for decoder in self.video_decoders.values():
            decoder.close()


class ReceiveWorker(QObject):
    """Orders each person's frames, drops those 200 ms late (server clock), decodes the rest.

    Pictures are not queued to the GUI: the newest per person waits in a slot, and
    `frames_ready` is emitted only once the GUI has taken the previous batch with
    `take_latest_frames`, so a GUI that cannot keep up skips frames instead of
    falling behind. Decoded audio goes out as `audio_frame` (connect it to the
    playback worker's `push_frame` with a direct connection). `keyframe_needed(user_id)`
    is for the session worker's `request_keyframe`: a round trip never stalls decoding.
    """

    frames_ready = pyqtSignal()
    audio_frame = pyqtSignal(int, object)
    peer_level = pyqtSignal(int, float)
    peer_speaking = pyqtSignal(int, bool)
    keyframe_needed = pyqtSignal(int)
    stats = pyqtSignal(object)  # {user_id: {...}}: int keys, which a QVariantMap would not keep

    def __init__(self, client: MeetingClient, *, sample_rate: int = 48000, playout_delay_ms: int = 40,
                 queue_size: int = 512) -> None:
        super().__init__()
        self.client = client
        self.sample_rate = sample_rate
        self.playout_delay_us = playout_delay_ms * 1000
        # Made now, not on start: frames that arrive while the thread spins up are kept.
        self._frames = client.media_queue(queue_size)
        self._peers: dict[int, _Peer] = {}
        self._latest_lock = threading.Lock()
        self._latest: dict[int, QImage] = {}
        self._ready_pending = False
        self._poll: QTimer | None = None
        self._stats_timer: QTimer | None = None
        self._stats_started = 0.0

    # -- the GUI thread -------------------------------------------------------------

    def take_latest_frames(self) -> dict[int, QImage]:
        """The newest picture of each person since the last call; re-arms `frames_ready`."""
        with self._latest_lock:
            frames, self._latest = self._latest, {}
            self._ready_pending = False
        return frames

    # -- on the worker's thread ---------------------------------------------------

    @pyqtSlot()
    def start(self) -> None:
        self._poll = QTimer(self)
        self._poll.setTimerType(Qt.PreciseTimer)
        self._poll.timeout.connect(self._receive)
        self._poll.start(POLL_MS)
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self._emit_stats)
        self._stats_started = time.monotonic()
        self._stats_timer.start(STATS_INTERVAL_MS)

    @pyqtSlot()
    def stop(self) -> None:
        for timer in (self._poll, self._stats_timer):
            if timer is not None:
                timer.stop()
        for peer in self._peers.values():
            peer.close()
        self._peers.clear()

    @pyqtSlot(list)
    def set_members(self, members: list[dict[str, Any]]) -> None:
        """Forget people who left: their decoders, and a picture the GUI has not taken yet."""
        present = {member["user_id"] for member in members}
        for user_id in [user_id for user_id in self._peers if user_id not in present]:
            self._peers.pop(user_id).close()
            with self._latest_lock:
                self._latest.pop(user_id, None)

    @pyqtSlot()
    def _receive(self) -> None:
        for _ in range(MAX_FRAMES_PER_POLL):
            try:
                header, payload = self._frames.get_nowait()
            except queue.Empty:
                break
            self._arrive(header, payload)
        now_us = self.client.server_clock_us()
        for user_id, peer in list(self._peers.items()):
            for _, payload in peer.jitter[StreamKind.AUDIO].pop_ready(now_us):
                self._play_audio(user_id, peer, payload)
            for header, payload in peer.jitter[StreamKind.VIDEO].pop_ready(now_us):
                self._play_video(user_id, peer, header, payload)
        self._check_silence()

    def _arrive(self, header: MediaHeader, payload: memoryview) -> None:
        peer = self._peers.get(header.sender_id)
        if peer is None:
            peer = self._peers[header.sender_id] = _Peer(
                {stream: JitterBuffer(self.playout_delay_us) for stream in StreamKind})
        if header.stream is StreamKind.VIDEO:
            peer.video_frames += 1
        else:
            peer.audio_frames += 1
        # A view of that frame's own bytes: safe to keep, copied only if it is decoded.
        peer.jitter[header.stream].push(header, payload, self.client.server_clock_us())

    def _play_audio(self, user_id: int, peer: _Peer, payload: memoryview) -> None:
        if peer.audio_decoder is None:
            peer.audio_decoder = OpusDecoder(self.sample_rate)
        try:
            pcm = peer.audio_decoder.decode(bytes(payload))
        except ValueError as exc:
            log.debug("audio from user %d does not decode: %s", user_id, exc)
            peer.decode_errors += 1
            return
        self.audio_frame.emit(user_id, pcm)
        now = time.monotonic()
        peer.last_audio = now
        if not peer.speaking:
            peer.speaking = True
            self.peer_speaking.emit(user_id, True)
        if now - peer.last_level >= LEVEL_INTERVAL:
            peer.last_level = now
            self.peer_level.emit(user_id, level_db(pcm))

    def _check_silence(self) -> None:
        now = time.monotonic()
        for user_id, peer in self._peers.items():
            if peer.speaking and now - peer.last_audio > SILENT_AFTER:
                peer.speaking = False
                self.peer_speaking.emit(user_id, False)
                self.peer_level.emit(user_id, FLOOR_DB)

    def _play_video(self, user_id: int, peer: _Peer, header: MediaHeader, payload: memoryview) -> None:
        if not peer.keyframes.admit(header):
            self._maybe_ask_for_keyframe(user_id, peer)
            return
        decoder = peer.video_decoders.get(header.codec)
        if decoder is None:
            try:
                decoder = peer.video_decoders[header.codec] = make_video_decoder(header.codec)
            except ValueError:  # a codec this client does not know: nothing to show
                peer.decode_errors += 1
                return
        try:
            image = decoder.decode(bytes(payload))
        except DecodeError:
            peer.decode_errors += 1
            peer.keyframes.decode_failed()
            self._maybe_ask_for_keyframe(user_id, peer)
            return
        if image is not None:
            peer.decoded_since_stats += 1
            self._offer(user_id, bgr_to_qimage(image))

    def _maybe_ask_for_keyframe(self, user_id: int, peer: _Peer) -> None:
        if peer.keyframes.should_request(time.monotonic()):
            self.keyframe_needed.emit(user_id)

    def _offer(self, user_id: int, image: QImage) -> None:
        """Replace the person's waiting picture; wake the GUI only if it took the last batch."""
        with self._latest_lock:
            self._latest[user_id] = image
            wake, self._ready_pending = not self._ready_pending, True
        if wake:
            self.frames_ready.emit()

    @pyqtSlot()
    def _emit_stats(self) -> None:
        now = time.monotonic()
        elapsed, self._stats_started = now - self._stats_started, now
        report = {}
        for user_id, peer in self._peers.items():
            jitter = peer.jitter.values()
            report[user_id] = {
                "fps": round(peer.decoded_since_stats / elapsed, 1) if elapsed > 0 else 0.0,
                "video_frames": peer.video_frames, "audio_frames": peer.audio_frames,
                "dropped_late": sum(j.stats.dropped_late for j in jitter),
                "decode_errors": peer.decode_errors,
            }
            peer.decoded_since_stats = 0
        self.stats.emit(report)
