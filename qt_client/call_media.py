"""The desktop client's media in a call: the workers that capture, send, receive and play.

Everything here runs on the GUI thread and talks to the workers only through
queued signals; the workers own their timers, devices and codecs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from PyQt5.QtCore import QObject, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QGuiApplication, QImage

from protocol.media import Codec, MediaSource
from qt_client.media.active_speaker import ActiveSpeakerDetector
from qt_client.media.video_source import parse_size
from qt_client.net.meeting_client import MeetingClient
from qt_client.ui.client_settings import ClientSettings
from qt_client.ui.room_window import RoomWindow
from qt_client.workers.audio_capture_worker import AudioCaptureWorker
from qt_client.workers.audio_playback_worker import AudioPlaybackWorker
from qt_client.workers.far_end_buffer import FarEndBuffer
from qt_client.workers.receive_worker import ReceiveWorker
from qt_client.workers.video_capture_worker import VideoCaptureWorker
from qt_client.workers.worker_thread import WorkerThread

log = logging.getLogger(__name__)

CODECS = {"jpeg": Codec.JPEG, "h264": Codec.H264, "vp8": Codec.VP8}
SAMPLE_RATE = 48000
SPEAKER_INTERVAL_MS = 250  # how often the speaker view may follow a new voice
SHOWN_INTERVAL_MS = 500  # tiles resized or scrolled: tell the receiver what to decode, at what size
VIDEO_SETTINGS = {"camera", "codec", "size", "fps", "face_effect", "screen_max_size", "screen_fps"}
AUDIO_SETTINGS = {"vad_aggressiveness", "echo_cancelling"}

StreamKey = tuple[int, MediaSource]


class CallMedia(QObject):
    """Owns the media workers of one logged-in client and paints what they deliver into the room window.

    The receiver lives from login to logout (it holds the client's media queue);
    capture and playback live while in a room. `keyframe_wanted(user_id, source)`
    asks the session worker to ask a sender; `notice(text)` is something to tell
    the user in plain words (a camera that would not open).
    """

    keyframe_wanted = pyqtSignal(int, int)
    notice = pyqtSignal(str)
    receive_stats = pyqtSignal(float, int)  # frames a second received in all, late frames skipped since

    # Switches for the workers: queued to their threads, never called from this one.
    _camera_enabled = pyqtSignal(bool)
    _screen_share = pyqtSignal(bool)
    _face_effect = pyqtSignal(bool)
    _keyframe_asked = pyqtSignal(int)
    _microphone_muted = pyqtSignal(bool)
    _microphone = pyqtSignal(str)
    _receiver_members = pyqtSignal(list)
    _receiver_shown = pyqtSignal(object)

    def __init__(self, settings: ClientSettings, room: RoomWindow) -> None:
        super().__init__()
        self.settings = settings
        self.room = room
        self.grid = room.grid
        self.local_user: int | None = None
        self.far_end = FarEndBuffer(SAMPLE_RATE // 50 * 25)
        self.client: MeetingClient | None = None
        self.receive: ReceiveWorker | None = None
        self.video: VideoCaptureWorker | None = None
        self.audio: AudioCaptureWorker | None = None
        self.playback: AudioPlaybackWorker | None = None
        self._receive_thread: WorkerThread | None = None
        self._video_thread: WorkerThread | None = None
        self._audio_thread: WorkerThread | None = None
        self._playback_thread: WorkerThread | None = None
        self._screen_index = 0
        self._screen_timer = QTimer(self)
        self._screen_timer.timeout.connect(self._grab_screen)
        self._speakers = ActiveSpeakerDetector()
        self._speaker_timer = QTimer(self)
        self._speaker_timer.timeout.connect(self._follow_speaker)
        self._shown: dict[StreamKey, tuple[int, int]] | None = None
        self._shown_timer = QTimer(self)
        self._shown_timer.timeout.connect(self._tell_receiver_what_is_shown)
        self.grid.visible_users_changed.connect(self._tell_receiver_what_is_shown)
        self._dropped_before: dict[int, int] = {}

    @property
    def threads(self) -> list[WorkerThread]:
        """The worker threads now running (for a check that closing ends them all)."""
        return [thread for thread in (self._receive_thread, self._video_thread, self._audio_thread,
                                      self._playback_thread) if thread is not None]

    # -- receiving (login to logout) ----------------------------------------------

    def start_receiving(self, client: MeetingClient, local_user: int) -> None:
        self.client, self.local_user = client, local_user
        self.receive = ReceiveWorker(client, sample_rate=SAMPLE_RATE)
        self.receive.frames_ready.connect(self._paint_frames)
        self.receive.peer_level.connect(self._on_peer_level)
        self.receive.peer_speaking.connect(self._on_peer_speaking)
        self.receive.keyframe_needed.connect(self.keyframe_wanted)
        self.receive.stats.connect(self._on_receive_stats)
        self._receiver_members.connect(self.receive.set_members)
        self._receiver_shown.connect(self.receive.set_shown)
        self._receive_thread = WorkerThread(self.receive, "receive")
        self._receive_thread.start()

    def stop_receiving(self) -> None:
        if self._receive_thread is not None:
            self._receive_thread.stop()
        if self.receive is not None:
            self._receiver_members.disconnect()
            self._receiver_shown.disconnect()
        self._receive_thread = self.receive = None
        self.client = None

    # -- sending and playing (in a room) ----------------------------------------------

    def start_call(self, microphone_on: bool, camera_on: bool) -> None:
        """Capture and playback for the room just entered; the switches say what to send at first."""
        if self.client is None:
            return
        self._start_video(camera_on)
        self._start_audio(not microphone_on)
        self.playback = AudioPlaybackWorker(self.far_end, sample_rate=SAMPLE_RATE)
        if self.receive is not None:
            self.receive.audio_frame.connect(self.playback.push_frame, Qt.DirectConnection)
        self._playback_thread = WorkerThread(self.playback, "audio-playback")
        self._playback_thread.start()
        self._shown = None
        self._shown_timer.start(SHOWN_INTERVAL_MS)
        self._speaker_timer.start(SPEAKER_INTERVAL_MS)

    def stop_call(self) -> None:
        for timer in (self._screen_timer, self._speaker_timer, self._shown_timer):
            timer.stop()
        self._stop_video()
        self._stop_audio()
        if self.receive is not None and self.playback is not None:
            self.receive.audio_frame.disconnect(self.playback.push_frame)  # the next call has its own
        if self._playback_thread is not None:
            self._playback_thread.stop()
        self._playback_thread = self.playback = None
        self._speakers = ActiveSpeakerDetector()
        self._dropped_before.clear()

    def _start_video(self, camera_on: bool) -> None:
        settings = self.settings
        width, height = parse_size(settings.size)
        screen_max = None if settings.screen_max_size == "native" else parse_size(settings.screen_max_size)
        self.video = VideoCaptureWorker(
            self.client, codec=CODECS[settings.codec], width=width, height=height, fps=settings.fps,
            camera=None if settings.camera == "testpattern" else int(settings.camera),
            face_mode=settings.face_effect, enabled=camera_on, screen_max_size=screen_max,
            screen_fps=settings.screen_fps)
        self.video.preview.connect(self._show_own_preview)
        self.video.source_fallback.connect(self.notice)
        self._camera_enabled.connect(self.video.set_enabled)
        self._screen_share.connect(self.video.set_screen_share)
        self._face_effect.connect(self.video.set_face_effect)
        self._keyframe_asked.connect(self.video.request_keyframe)
        self._video_thread = WorkerThread(self.video, "video-capture")
        self._video_thread.start()
        self._screen_timer.setInterval(1000 // settings.screen_fps)

    def _stop_video(self) -> None:
        if self._video_thread is not None:
            self._video_thread.stop()
        if self.video is not None:
            # A worker started later has its own connections.
            for signal in (self._camera_enabled, self._screen_share, self._face_effect,
                           self._keyframe_asked):
                signal.disconnect()
        self._video_thread = self.video = None

    def _start_audio(self, muted: bool) -> None:
        settings = self.settings
        self.audio = AudioCaptureWorker(self.client, self.far_end, sample_rate=SAMPLE_RATE,
                                        microphone=settings.microphone,
                                        vad_aggressiveness=settings.vad_aggressiveness,
                                        echo_cancelling=settings.echo_cancelling, muted=muted)
        self.audio.level.connect(self._on_own_level)
        self.audio.speaking.connect(self._on_own_speaking)
        self.audio.source_fallback.connect(self.notice)
        self._microphone_muted.connect(self.audio.set_muted)
        self._microphone.connect(self.audio.set_microphone)
        self._audio_thread = WorkerThread(self.audio, "audio-capture")
        self._audio_thread.start()

    def _stop_audio(self) -> None:
        if self._audio_thread is not None:
            self._audio_thread.stop()
        if self.audio is not None:
            self._microphone_muted.disconnect()
            self._microphone.disconnect()
        self._audio_thread = self.audio = None

    # -- the user's switches ------------------------------------------------------------

    def set_microphone_on(self, on: bool) -> None:
        self._microphone_muted.emit(not on)
        tile = self._own_tile()
        if tile is not None:
            tile.set_microphone_muted(not on)

    def set_camera_on(self, on: bool) -> None:
        self._camera_enabled.emit(on)
        tile = self._own_tile()
        if tile is not None:
            tile.set_camera_off(not on)

    def set_face_effect(self, on: bool) -> None:
        self._face_effect.emit(on)

    def set_screen_share(self, on: bool, screen_index: int = 0) -> None:
        self._screen_index = screen_index
        self._screen_share.emit(on)
        if on:
            self._grab_screen()  # the first picture now, not a frame interval later
            self._screen_timer.start()
        else:
            self._screen_timer.stop()

    def send_keyframe(self, source: int) -> None:
        """Someone asked us (through the server) for a key frame of our camera or screen."""
        self._keyframe_asked.emit(source)

    def apply_settings(self, changed: dict[str, Any], microphone_on: bool, camera_on: bool,
                       sharing: bool) -> None:
        """Settings changed mid-call: restart only the worker they belong to."""
        if self.video is not None and changed.keys() & VIDEO_SETTINGS:
            face = self.room.action_face.isChecked()
            self._stop_video()
            self._start_video(camera_on)
            if face:
                self._face_effect.emit(True)
            if sharing:
                self._screen_share.emit(True)
        if self.audio is not None and changed.keys() & AUDIO_SETTINGS:
            self._stop_audio()
            self._start_audio(not microphone_on)
        elif self.audio is not None and "microphone" in changed:
            self._microphone.emit(str(changed["microphone"]))

    def members_changed(self, members: list[dict[str, Any]]) -> None:
        self._receiver_members.emit(members)
        present = {int(member["user_id"]) for member in members}
        for user_id in set(self._dropped_before) - present:
            del self._dropped_before[user_id]
            self._speakers.remove(user_id)

    # -- what the workers deliver ---------------------------------------------------------

    def _paint_frames(self) -> None:
        """Show the newest picture of each stream; older ones were never queued for us."""
        if self.receive is None:
            return
        for (user_id, source), image in self.receive.frames.take().items():
            tile = self.grid.tile(user_id if source is MediaSource.CAMERA else ("screen", user_id))
            if tile is not None:
                tile.show_image(image)

    def _tell_receiver_what_is_shown(self, *_: object) -> None:
        """Streams with a tile on screen, at the tile's pixel size: the others are not decoded."""
        shown: dict[StreamKey, tuple[int, int]] = {}
        for user_id in self.grid.visible_user_ids():
            tile = self.grid.tile(user_id)
            if tile is not None and user_id != self.local_user:
                size = tile.displayed_size()
                shown[user_id, MediaSource.CAMERA] = (size.width(), size.height())
        presenter = self.grid.presenter
        presentation = self.grid.presentation_tile()
        if presenter is not None and presentation is not None and presentation.isVisible():
            size = presentation.displayed_size()
            shown[presenter, MediaSource.SCREEN] = (size.width(), size.height())
        if shown != self._shown:
            self._shown = shown
            self._receiver_shown.emit(shown)

    def _show_own_preview(self, image: QImage) -> None:
        tile = self._own_tile()
        if tile is not None:
            tile.show_image(image)

    def _on_own_level(self, db: float) -> None:
        tile = self._own_tile()
        if tile is not None:
            tile.set_level(db)

    def _on_own_speaking(self, speaking: bool) -> None:
        tile = self._own_tile()
        if tile is not None:
            tile.set_speaking(speaking)

    def _on_peer_level(self, user_id: int, db: float) -> None:
        self._speakers.feed(user_id, db, time.monotonic())
        tile = self.grid.tile(user_id)
        if tile is not None:
            tile.set_level(db)

    def _on_peer_speaking(self, user_id: int, speaking: bool) -> None:
        tile = self.grid.tile(user_id)
        if tile is not None:
            tile.set_speaking(speaking)

    def _follow_speaker(self) -> None:
        self.grid.set_active_speaker(self._speakers.update(time.monotonic()))

    def _on_receive_stats(self, stats: dict[int, dict[str, Any]]) -> None:
        total_fps, total_dropped = 0.0, 0
        for user_id, peer in stats.items():
            fps = float(peer.get("camera_fps", 0.0))
            dropped = int(peer.get("dropped_late", 0))
            new_drops = dropped - self._dropped_before.get(user_id, 0)
            self._dropped_before[user_id] = dropped
            total_fps += fps + float(peer.get("screen_fps", 0.0))
            total_dropped += dropped
            tile = self.grid.tile(user_id)
            if tile is not None:
                tile.set_quality(fps, max(0, new_drops))
        self.receive_stats.emit(total_fps, total_dropped)

    def _own_tile(self) -> Any:
        return self.grid.tile(self.local_user) if self.local_user is not None else None

    def _grab_screen(self) -> None:
        """Screen grabs must happen on the GUI thread; the capture worker scales and encodes them."""
        screens = QGuiApplication.screens()
        if self.video is None or not screens:
            return
        screen = screens[min(self._screen_index, len(screens) - 1)]
        area = screen.geometry()
        self.video.submit_screen_image(
            screen.grabWindow(0, area.x(), area.y(), area.width(), area.height()).toImage())

    def close(self) -> None:
        self.stop_call()
        self.stop_receiving()
