"""Camera or screen -> face effect -> encoder -> server, paced on the worker's own thread."""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np
from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QImage

from protocol.media import Codec, StreamKind
from qt_client.media.camera_source import CameraSource
from qt_client.media.face_effect import FaceEffect
from qt_client.media.test_pattern_source import TestPatternSource
from qt_client.media.video_codec import VideoEncoder, make_video_encoder
from qt_client.media.video_source import VideoSource
from qt_client.net.errors import NotConnectedError
from qt_client.net.meeting_client import MeetingClient
from qt_client.workers.images import bgr_to_qimage

log = logging.getLogger(__name__)

PREVIEW_INTERVAL = 0.1  # seconds: a self view needs no more than 10 pictures a second
PREVIEW_WIDTH = 320


class VideoCaptureWorker(QObject):
    """Sends one video frame per tick at `fps`, a key frame when asked or when the picture changes.

    `camera` is a camera index, or None for the test pattern; a missing camera falls
    back to the test pattern and says so (`source_fallback`). While screen sharing,
    the frames come from `submit_screen_frame` (any thread) instead of the camera.
    """

    preview = pyqtSignal(QImage)
    frames_sent = pyqtSignal(int)
    source_fallback = pyqtSignal(str)

    def __init__(self, client: MeetingClient, *, codec: Codec = Codec.JPEG, width: int = 640,
                 height: int = 480, fps: float = 15.0, camera: int | None = 0, quality: int = 80,
                 bitrate: int = 800_000, face_mode: str = "pixelate", enabled: bool = True) -> None:
        super().__init__()
        self.client = client
        self.codec, self.width, self.height, self.fps = codec, width, height, fps
        self.camera, self.quality, self.bitrate, self.face_mode = camera, quality, bitrate, face_mode
        self.sent = 0
        self._enabled = enabled
        self._screen_share = False
        self._face_effect: FaceEffect | None = None
        self._face_wanted = False
        self._source: VideoSource | None = None
        self._encoder: VideoEncoder | None = None
        self._timer: QTimer | None = None
        self._keyframe_wanted = True
        self._last_preview = 0.0
        # Written by the GUI thread (screen grabs), taken on ours: only the newest is worth sending.
        self._screen_lock = threading.Lock()
        self._screen_frame: np.ndarray | None = None
        self._last_screen: np.ndarray | None = None

    # -- any thread -------------------------------------------------------------

    def submit_screen_frame(self, frame: np.ndarray) -> None:
        """Hand over a screen grab (BGR or BGRA, any size); the worker owns the array from now on."""
        with self._screen_lock:
            self._screen_frame = frame

    # -- on the worker's thread ---------------------------------------------------

    @pyqtSlot()
    def start(self) -> None:
        self._encoder = make_video_encoder(self.codec, self.width, self.height, self.fps,
                                           quality=self.quality, bitrate=self.bitrate)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._timer.setInterval(round(1000 / self.fps))
        self._update()

    @pyqtSlot()
    def stop(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._close_source()
        if self._encoder is not None:
            self._encoder.close()
            self._encoder = None

    @pyqtSlot(bool)
    def set_enabled(self, enabled: bool) -> None:
        """Camera on or off; off releases the camera (its light goes out) and sends nothing."""
        self._enabled = enabled
        self._update()

    @pyqtSlot(bool)
    def set_screen_share(self, sharing: bool) -> None:
        self._screen_share = sharing
        with self._screen_lock:
            self._screen_frame = None  # a grab from an earlier share must not flash up
        self._last_screen = None
        self._update()

    @pyqtSlot(bool)
    def set_face_effect(self, on: bool) -> None:
        self._face_wanted = on
        if on and self._face_effect is None:
            self._face_effect = FaceEffect(self.face_mode)

    @pyqtSlot()
    def request_keyframe(self) -> None:
        """Someone joined or lost frames: the next frame is one they can start decoding from."""
        self._keyframe_wanted = True

    def _update(self) -> None:
        """Open or release the camera and start or stop the ticks to match the switches."""
        if self._timer is None:
            return  # not started yet: start() applies the switches
        if self._enabled and not self._screen_share:
            if self._source is None:
                self._source = self._open_camera()
        else:
            self._close_source()
        sending = self._enabled or self._screen_share
        if sending and not self._timer.isActive():
            self._timer.start()
        elif not sending:
            self._timer.stop()
        # Receivers of an inter codec cannot start mid-stream, and the picture has changed anyway.
        self._keyframe_wanted = True

    def _open_camera(self) -> VideoSource:
        if self.camera is None:
            return TestPatternSource(self.width, self.height, self.fps)
        try:
            return CameraSource(self.camera, self.width, self.height, self.fps)
        except RuntimeError as exc:
            log.info("camera %s unavailable: %s", self.camera, exc)
            self.source_fallback.emit("No camera found: sending a test pattern")
            self.camera = None  # asking again on every camera toggle would only fail again
            return TestPatternSource(self.width, self.height, self.fps)

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()

    @pyqtSlot()
    def _tick(self) -> None:
        frame = self._screen() if self._screen_share else self._camera()
        if frame is None:
            return
        assert self._encoder is not None
        capture_us = self.client.server_clock_us()
        keyframe, self._keyframe_wanted = self._keyframe_wanted, False
        encoded = self._encoder.encode(frame, force_keyframe=keyframe)
        if encoded is None:
            return
        try:
            self.client.send_media(StreamKind.VIDEO, self.codec, encoded.payload, keyframe=encoded.keyframe,
                                   capture_us=capture_us)
        except NotConnectedError:
            # Reconnecting: this frame is lost, and the next one must be a key frame.
            self._keyframe_wanted = True
            return
        self.sent += 1
        self.frames_sent.emit(self.sent)
        self._maybe_preview(frame)

    def _camera(self) -> np.ndarray | None:
        if self._source is None:
            return None
        try:
            frame, _ = self._source.read()
        except RuntimeError as exc:  # unplugged mid-call
            log.warning("camera failed: %s", exc)
            self._close_source()
            self.source_fallback.emit("The camera stopped: sending a test pattern")
            self.camera = None
            self._source = self._open_camera()
            return None
        if self._face_wanted and self._face_effect is not None:
            frame = self._face_effect.apply(frame)
        return frame

    def _screen(self) -> np.ndarray | None:
        with self._screen_lock:
            grab, self._screen_frame = self._screen_frame, None
        if grab is not None:
            self._last_screen = _fit(grab[:, :, :3], self.width, self.height)
            return self._last_screen
        # Nothing new on screen: receivers keep the last picture, but one who just joined needs it.
        return self._last_screen if self._keyframe_wanted else None

    def _maybe_preview(self, frame: np.ndarray) -> None:
        now = time.monotonic()
        if now - self._last_preview >= PREVIEW_INTERVAL:
            self._last_preview = now
            self.preview.emit(bgr_to_qimage(frame, PREVIEW_WIDTH))


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """frame scaled into width x height with its aspect kept, black bars filling the rest."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    inner_w, inner_h = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.zeros((height, width, 3), np.uint8)
    top, left = (height - inner_h) // 2, (width - inner_w) // 2
    out[top:top + inner_h, left:left + inner_w] = cv2.resize(frame, (inner_w, inner_h),
                                                              interpolation=cv2.INTER_AREA)
    return out
