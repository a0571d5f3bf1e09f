"""The bot's screen share: a still slide or picture, sent as the screen stream a few times a second."""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from protocol.media import Codec, MediaSource, StreamKind
from qt_client.bot.pacer import Pacer
from qt_client.media.video_codec import make_video_encoder
from qt_client.net.errors import NotConnectedError
from qt_client.net.meeting_client import MeetingClient

log = logging.getLogger(__name__)

SLIDE_SIZE = (1280, 720)
SCREEN_FPS = 2.0  # a still picture: enough for someone who joins to see it soon
SCREEN_QUALITY = 90


def make_slide(width: int = SLIDE_SIZE[0], height: int = SLIDE_SIZE[1]) -> np.ndarray:
    """A synthetic presentation slide (title, bullets, a bar chart): no file needed."""
    slide = np.full((height, width, 3), 255, np.uint8)
    cv2.rectangle(slide, (0, 0), (width, 90), (120, 70, 21), -1)
    cv2.putText(slide, "Quarterly review", (40, 62), cv2.FONT_HERSHEY_DUPLEX, 1.6, (255, 255, 255), 2,
                cv2.LINE_AA)
    for row, line in enumerate(["Relay latency p99 under 10 ms", "Five people in grid view",
                                "Screen sharing as its own stream", "Next: recording"]):
        y = 170 + row * 60
        cv2.circle(slide, (60, y - 10), 7, (120, 70, 21), -1)
        cv2.putText(slide, line, (85, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (40, 40, 40), 2, cv2.LINE_AA)
    for index, value in enumerate([0.35, 0.55, 0.5, 0.8]):
        left = width - 460 + index * 100
        top = height - 80 - int(value * 380)
        cv2.rectangle(slide, (left, top), (left + 70, height - 80), (60, 142, 56), -1)
    return slide


def open_screen(spec: str) -> np.ndarray | None:
    """"slide", "file:PATH" (any picture OpenCV reads) or "none"."""
    if spec == "none":
        return None
    if spec == "slide":
        return make_slide()
    if spec.startswith("file:"):
        picture = cv2.imread(spec[5:], cv2.IMREAD_COLOR)
        if picture is None:
            raise ValueError(f"cannot read the picture {spec[5:]!r}")
        return picture
    raise ValueError(f"--screen takes slide, file:PATH or none, not {spec!r}")


class ScreenSender(threading.Thread):
    """Sends one still picture as the screen stream (JPEG, full colour detail) until stopped;
    while the client is reconnecting, frames are counted as skipped."""

    def __init__(self, client: MeetingClient, picture: np.ndarray, stop: threading.Event) -> None:
        super().__init__(name="bot-screen", daemon=True)
        self.client = client
        self.stop = stop
        height, width = picture.shape[:2]
        encoder = make_video_encoder(Codec.JPEG, width, height, SCREEN_FPS, quality=SCREEN_QUALITY,
                                     for_screen=True)
        self.payload = encoder.encode(np.ascontiguousarray(picture)).payload
        self.frames_sent = 0
        self.skipped_while_disconnected = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.client.set_media_state(screen=True)
            pacer = Pacer(SCREEN_FPS, self.stop)
            while pacer.wait():
                self._send()
        except BaseException as exc:  # reported in the bot's JSON, not lost on a thread
            log.exception("screen sender failed")
            self.error = exc

    def _send(self) -> None:
        try:
            self.client.send_media(StreamKind.VIDEO, Codec.JPEG, self.payload, keyframe=True,
                                   source=MediaSource.SCREEN)
        except NotConnectedError:
            self.skipped_while_disconnected += 1  # the bot says once that the connection is lost
            return
        self.frames_sent += 1
