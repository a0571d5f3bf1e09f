"""Camera -> face effect -> encoder -> server, and the shared screen as a second stream, on one thread."""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np
from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal, pyqtSlot
from PyQt5.QtGui import QImage

from protocol.media import Codec, MediaSource, StreamKind
from qt_client.media.camera_source import CameraSource
from qt_client.media.face_effect import FaceEffect
from qt_client.media.test_pattern_source import TestPatternSource
from qt_client.media.video_codec import VideoEncoder, fit_size, make_video_encoder
from qt_client.media.video_source import VideoSource
from qt_client.net.errors import NotConnectedError
from qt_client.net.meeting_client import MeetingClient
from qt_client.workers.images import bgr_to_qimage

log = logging.getLogger(__name__)

PREVIEW_INTERVAL = 0.1  # seconds: a self view needs no more than 10 pictures a second
PREVIEW_WIDTH = 320
SCREEN_JPEG_QUALITY = 90  # 12-pixel text stays readable; a screen changes little, so few bytes a second
SCREEN_REFRESH_S = 2.0  # an unchanged screen goes out again this often, for people who just joined
SCREEN_BITS_PER_PIXEL = 0.25  # H.264/VP8 screen bit rate per pixel per second (1080p at 5 fps: 2.6 Mbit/s)


class VideoCaptureWorker(QObject):
    """Sends the camera at `fps` and, while sharing, the screen at `screen_fps`, each its own stream.

    `camera` is a camera index, or None for the test pattern. A camera that does
    not open sends the test pattern and says so (`source_fallback`); switching the
    camera on again tries it again. Screen grabs are made on the GUI thread (Qt's
    rule) and handed over with `submit_screen_image` from any thread; scaling and
    encoding happen here. Every switch is a slot: call it through a queued signal.
    """

    preview = pyqtSignal(QImage)
    frames_sent = pyqtSignal(int)
    source_fallback = pyqtSignal(str)

    def __init__(self, client: MeetingClient, *, codec: Codec = Codec.JPEG, width: int = 640,
                 height: int = 480, fps: float = 15.0, camera: int | None = 0, quality: int = 80,
                 bitrate: int = 800_000, face_mode: str = "pixelate", enabled: bool = True,
                 screen_max_size: tuple[int, int] | None = (1920, 1080), screen_fps: float = 5.0) -> None:
        super().__init__()
        self.client = client
        self.codec, self.width, self.height, self.fps = codec, width, height, fps
        self.camera, self.quality, self.bitrate, self.face_mode = camera, quality, bitrate, face_mode
        self.screen_max_size, self.screen_fps = screen_max_size, screen_fps
        self.sent = 0
        self.screen_sent = 0
        self._enabled = enabled
        self._sharing = False
        self._face_effect: FaceEffect | None = None
        self._face_wanted = False
        self._source: VideoSource | None = None
        self._encoder: VideoEncoder | None = None
        self._screen_encoder: VideoEncoder | None = None
        self._screen_size = (0, 0)
        self._screen_sent_at = float("-inf")
        self._camera_timer: QTimer | None = None
        self._screen_timer: QTimer | None = None
        self._keyframe_wanted = {MediaSource.CAMERA: True, MediaSource.SCREEN: True}
        self._last_preview = 0.0
        # Written by the GUI thread (screen grabs), taken on ours: only the newest is worth sending.
        self._screen_lock = threading.Lock()
        self._screen_image: QImage | None = None
        self._last_screen: np.ndarray | None = None

    # -- any thread -------------------------------------------------------------

    def submit_screen_image(self, image: QImage) -> None:
        """Hand over a screen grab (any format, any size); a newer one replaces one not yet sent."""
        with self._screen_lock:
            self._screen_image = image

    # -- on the worker's thread ---------------------------------------------------

    @pyqtSlot()
    def start(self) -> None:
        self._encoder = make_video_encoder(self.codec, self.width, self.height, self.fps,
                                           quality=self.quality, bitrate=self.bitrate)
        self._camera_timer = self._make_timer(self.fps, self._camera_tick)
        self._screen_timer = self._make_timer(self.screen_fps, self._screen_tick)
        self._update()

    def _make_timer(self, fps: float, tick: object) -> QTimer:
        timer = QTimer(self)
        timer.setTimerType(Qt.PreciseTimer)
        timer.timeout.connect(tick)
        timer.setInterval(round(1000 / fps))
        return timer

    @pyqtSlot()
    def stop(self) -> None:
        for timer in (self._camera_timer, self._screen_timer):
            if timer is not None:
                timer.stop()
        self._close_source()
        for encoder in (self._encoder, self._screen_encoder):
            if encoder is not None:
                encoder.close()
        self._encoder = self._screen_encoder = None

    @pyqtSlot(bool)
    def set_enabled(self, enabled: bool) -> None:
        """Camera on or off; off releases the camera (its light goes out) and sends nothing."""
        self._enabled = enabled
        self._update()

    @pyqtSlot(bool)
    def set_screen_share(self, sharing: bool) -> None:
        """Start or stop the screen stream; the camera goes on as it was."""
        self._sharing = sharing
        with self._screen_lock:
            self._screen_image = None  # a grab from an earlier share must not flash up
        self._last_screen = None
        if self._screen_encoder is not None:
            self._screen_encoder.close()
            self._screen_encoder = None
        self._update()

    @pyqtSlot(bool)
    def set_face_effect(self, on: bool) -> None:
        self._face_wanted = on
        if on and self._face_effect is None:
            self._face_effect = FaceEffect(self.face_mode)

    @pyqtSlot(int)
    def request_keyframe(self, source: int = MediaSource.CAMERA) -> None:
        """Someone joined or lost frames: the stream's next frame is one they can start decoding from."""
        self._keyframe_wanted[MediaSource(source)] = True

    def _update(self) -> None:
        """Open or release the camera and start or stop each stream's ticks to match the switches."""
        if self._camera_timer is None or self._screen_timer is None:
            return  # not started yet: start() applies the switches
        if self._enabled:
            if self._source is None:
                self._source = self._open_camera()
            if not self._camera_timer.isActive():
                self._keyframe_wanted[MediaSource.CAMERA] = True  # receivers start afresh
                self._camera_timer.start()
        else:
            self._camera_timer.stop()
            self._close_source()
        if self._sharing and not self._screen_timer.isActive():
            self._keyframe_wanted[MediaSource.SCREEN] = True
            self._screen_timer.start()
        elif not self._sharing:
            self._screen_timer.stop()

    def _open_camera(self) -> VideoSource:
        if self.camera is None:
            return TestPatternSource(self.width, self.height, self.fps)
        try:
            return CameraSource(self.camera, self.width, self.height, self.fps)
        except RuntimeError as exc:
            log.info("camera %s unavailable: %s", self.camera, exc)
            self.source_fallback.emit("The camera could not be opened: sending a test pattern")
            return TestPatternSource(self.width, self.height, self.fps)

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()

    # -- the camera stream ---------------------------------------------------------

    @pyqtSlot()
    def _camera_tick(self) -> None:
        frame = self._camera()
        if frame is None or self._encoder is None:
            return
        if self._send(MediaSource.CAMERA, self._encoder, frame):
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
            self._source = TestPatternSource(self.width, self.height, self.fps)
            return None
        if self._face_wanted and self._face_effect is not None:
            frame = self._face_effect.apply(frame)
        return frame

    def _send(self, source: MediaSource, encoder: VideoEncoder, frame: np.ndarray) -> bool:
        capture_us = self.client.server_clock_us()
        keyframe, self._keyframe_wanted[source] = self._keyframe_wanted[source], False
        encoded = encoder.encode(frame, force_keyframe=keyframe)
        if encoded is None:
            return False
        try:
            self.client.send_media(StreamKind.VIDEO, self.codec, encoded.payload, keyframe=encoded.keyframe,
                                   capture_us=capture_us, source=source)
        except NotConnectedError:
            # Reconnecting: this frame is lost, and the next one must be a key frame.
            self._keyframe_wanted[source] = True
            return False
        return True

    def _maybe_preview(self, frame: np.ndarray) -> None:
        now = time.monotonic()
        if now - self._last_preview >= PREVIEW_INTERVAL:
            self._last_preview = now
            self.preview.emit(bgr_to_qimage(frame, PREVIEW_WIDTH))

    # -- the screen stream -----------------------------------------------------------

    @pyqtSlot()
    def _screen_tick(self) -> None:
        with self._screen_lock:
            grab, self._screen_image = self._screen_image, None
        changed = False
        if grab is not None:
            frame = self._screen_frame(grab)
            changed = self._last_screen is None or not np.array_equal(frame, self._last_screen)
            self._last_screen = frame
        now = time.monotonic()
        # A still screen (a slide being talked over) is sent again only now and then, for people
        # who join; asking for a key frame gets it at once.
        due = self._keyframe_wanted[MediaSource.SCREEN] or now - self._screen_sent_at >= SCREEN_REFRESH_S
        if self._last_screen is None or not (changed or due):
            return
        encoder = self._screen_encoder_for(self._last_screen)
        if self._send(MediaSource.SCREEN, encoder, self._last_screen):
            self.screen_sent += 1
            self._screen_sent_at = now

    def _screen_frame(self, image: QImage) -> np.ndarray:
        """The grab as a BGR array at most screen_max_size, aspect kept, even-sized for 4:2:0 codecs."""
        image = image.convertToFormat(QImage.Format_RGB32)  # no-op for X11 grabs: bytes are B, G, R, x
        width, height = image.width(), image.height()
        bits = image.constBits()
        bits.setsize(image.sizeInBytes())
        bgrx = np.frombuffer(bits, np.uint8).reshape(height, image.bytesPerLine())[:, :4 * width]
        frame = bgrx.reshape(height, width, 4)[:, :, :3]
        if self.screen_max_size is not None:
            target = fit_size(width, height, *self.screen_max_size)
            if target != (width, height):
                frame = cv2.resize(frame, target, interpolation=cv2.INTER_AREA)
        if self.codec is not Codec.JPEG and (frame.shape[0] % 2 or frame.shape[1] % 2):
            # Pad, never stretch: one black row or column keeps every pixel where it was.
            frame = cv2.copyMakeBorder(frame, 0, frame.shape[0] % 2, 0, frame.shape[1] % 2,
                                       cv2.BORDER_CONSTANT, value=(0, 0, 0))
        return np.ascontiguousarray(frame)

    def _screen_encoder_for(self, frame: np.ndarray) -> VideoEncoder:
        """The screen's encoder, made anew when the shared screen's size changes."""
        height, width = frame.shape[:2]
        encoder = self._screen_encoder
        if encoder is not None and self._screen_size != (width, height):
            encoder.close()
            encoder = None
        if encoder is None:
            self._screen_size = (width, height)
            bitrate = max(500_000, round(width * height * self.screen_fps * SCREEN_BITS_PER_PIXEL))
            encoder = self._screen_encoder = make_video_encoder(
                self.codec, width, height, self.screen_fps, quality=SCREEN_JPEG_QUALITY, bitrate=bitrate,
                keyframe_interval_s=10.0, for_screen=True)
            self._keyframe_wanted[MediaSource.SCREEN] = True
        return encoder
