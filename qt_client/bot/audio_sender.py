"""The bot's microphone: a source, voice detection, Opus, the client."""

from __future__ import annotations

import logging
import threading

from protocol.media import Codec, StreamKind
from qt_client.bot.config import BotConfig
from qt_client.bot.pacer import Pacer
from qt_client.media.audio_source import AudioSource
from qt_client.media.opus_codec import OpusEncoder
from qt_client.media.voice_detector import VoiceDetector
from qt_client.net.errors import NotConnectedError
from qt_client.net.meeting_client import MeetingClient

log = logging.getLogger(__name__)

FRAMES_PER_SECOND = 50  # 20 ms frames
PRE_ENCODED_FRAMES = 250  # 5 s: long enough to hold a WAV's pauses


class AudioSender(threading.Thread):
    """Sends a 20 ms Opus frame per tick, except frames the voice detector judges
    silent: those are not sent at all, and receivers show us as silent. While
    the client is reconnecting, frames are counted as skipped."""

    def __init__(self, client: MeetingClient, config: BotConfig, source: AudioSource,
                 stop: threading.Event) -> None:
        super().__init__(name="bot-audio", daemon=True)
        self.client = client
        self.config = config
        self.source = source
        self.stop = stop
        self.encoder = OpusEncoder(config.sample_rate)
        self.detector = VoiceDetector(config.sample_rate, config.vad_aggressiveness) if config.vad else None
        self.frames_sent = 0
        self.frames_suppressed = 0
        self.skipped_while_disconnected = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self.config.pre_encoded:
                self._replay(self._pre_encode())
            else:
                pacer = Pacer(FRAMES_PER_SECOND, self.stop)
                while pacer.wait():
                    self._send(*self._next_frame())
        except BaseException as exc:  # reported in the bot's JSON, not lost on a thread
            log.exception("audio sender failed")
            self.error = exc

    def _replay(self, frames: list[tuple[bytes | None, bool]]) -> None:
        """Send from a timer on the client's network thread: no thread hand-off per frame."""
        index = 0

        def tick() -> None:
            nonlocal index
            self._send(*frames[index])
            index = (index + 1) % len(frames)

        timer = self.client.run_every(1.0 / FRAMES_PER_SECOND, tick)
        self.stop.wait()
        self.client.cancel_timer(timer)

    def _send(self, packet: bytes | None, speech: bool) -> None:
        if not speech:
            self.frames_suppressed += 1
            return
        try:
            self.client.send_media(StreamKind.AUDIO, Codec.OPUS, packet,
                                   capture_us=self.client.server_clock_us())
        except NotConnectedError:
            self.skipped_while_disconnected += 1  # the bot says once that the connection is lost
            return
        self.frames_sent += 1

    def _next_frame(self) -> tuple[bytes | None, bool]:
        pcm = self.source.read()
        if self.detector is not None and not self.detector.is_speech(pcm):
            return None, False
        return self.encoder.encode(pcm), True

    def _pre_encode(self) -> list[tuple[bytes | None, bool]]:
        return [self._next_frame() for _ in range(PRE_ENCODED_FRAMES)]
