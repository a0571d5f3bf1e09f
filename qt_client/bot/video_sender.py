"""The bot's camera: a source, an optional face effect, an encoder, the client."""

from __future__ import annotations

import logging
import threading

from protocol.media import StreamKind
from qt_client.bot.config import BotConfig
from qt_client.bot.pacer import Pacer
from qt_client.media.video_codec import EncodedFrame, make_video_encoder
from qt_client.media.video_source import VideoSource
from qt_client.net.errors import NotConnectedError
from qt_client.net.meeting_client import MeetingClient

log = logging.getLogger(__name__)

# Pre-encoded mode cycles through this many seconds of frames.
PRE_ENCODED_SECONDS = 2.0


class VideoSender(threading.Thread):
    """Sends one video frame per tick; a key frame on start, on request and periodically.

    With `pre_encoded`, a couple of seconds are encoded up front and replayed
    (from the key frame again on a request), so that a load-test bot costs
    almost no CPU. While the client is reconnecting, frames are counted as
    skipped, and the first one sent after is a key frame.
    """

    def __init__(self, client: MeetingClient, config: BotConfig, source: VideoSource,
                 face_effect, stop: threading.Event) -> None:
        super().__init__(name="bot-video", daemon=True)
        self.client = client
        self.config = config
        self.source = source
        self.face_effect = face_effect
        self.stop = stop
        self.encoder = make_video_encoder(config.codec, config.width, config.height, config.fps,
                                          quality=config.quality, bitrate=config.bitrate,
                                          keyframe_interval_s=config.keyframe_interval)
        self.frames_sent = 0
        self.skipped_while_disconnected = 0
        self.keyframes_sent = 0
        self.keyframe_requests = 0
        self._keyframe_wanted = threading.Event()
        self.error: BaseException | None = None

    def request_keyframe(self) -> None:
        """Called on the client's network thread when someone asks us for a key frame."""
        self.keyframe_requests += 1
        self._keyframe_wanted.set()

    def run(self) -> None:
        try:
            if self.config.pre_encoded:
                self._replay(self._pre_encode())
            else:
                self._live()
        except BaseException as exc:  # reported in the bot's JSON, not lost on a thread
            log.exception("video sender failed")
            self.error = exc
        finally:
            self.encoder.close()

    def _live(self) -> None:
        pacer = Pacer(self.config.fps, self.stop)
        while pacer.wait():
            frame, _ = self.source.read()
            capture_us = self.client.server_clock_us()
            if self.face_effect is not None:
                frame = self.face_effect.apply(frame)
            wanted = self._keyframe_wanted.is_set()
            self._keyframe_wanted.clear()
            encoded = self.encoder.encode(frame, force_keyframe=wanted)
            if encoded is not None:
                self._send(encoded, capture_us)

    def _pre_encode(self) -> list[EncodedFrame]:
        count = max(1, round(self.config.fps * PRE_ENCODED_SECONDS))
        frames = []
        for index in range(count):
            frame, _ = self.source.read()
            if self.face_effect is not None:
                frame = self.face_effect.apply(frame)
            encoded = self.encoder.encode(frame, force_keyframe=index == 0)
            if encoded is not None:
                frames.append(encoded)
        return frames

    def _replay(self, frames: list[EncodedFrame]) -> None:
        """Send from a timer on the client's network thread: no thread hand-off per frame."""
        index = 0

        def tick() -> None:
            nonlocal index
            if self._keyframe_wanted.is_set():
                self._keyframe_wanted.clear()
                index = 0  # the cycle starts with a key frame, and what follows refers to it
            self._send(frames[index], self.client.server_clock_us())
            index = (index + 1) % len(frames)

        timer = self.client.run_every(1.0 / self.config.fps, tick)
        self.stop.wait()
        self.client.cancel_timer(timer)

    def _send(self, encoded: EncodedFrame, capture_us: int) -> None:
        try:
            self.client.send_media(StreamKind.VIDEO, self.config.codec, encoded.payload,
                                   keyframe=encoded.keyframe, capture_us=capture_us)
        except NotConnectedError:
            # The bot says once that the connection is lost; the frames that miss it are only counted.
            self.skipped_while_disconnected += 1
            self._keyframe_wanted.set()  # what follows would refer to frames nobody received
            return
        self.frames_sent += 1
        self.keyframes_sent += encoded.keyframe
