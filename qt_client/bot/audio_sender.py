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
from qt_client.net.meeting_client import MeetingClient

log = logging.getLogger(__name__)

FRAMES_PER_SECOND = 50  # 20 ms frames
PRE_ENCODED_FRAMES = 250  # 5 s: long enough to hold a WAV's pauses


class AudioSender(threading.Thread):
    """Sends a 20 ms Opus frame per tick, except frames the voice detector judges
    silent: those are not sent at all, and receivers show us as silent."""

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
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            frames = self._pre_encode() if self.config.pre_encoded else None
            pacer = Pacer(FRAMES_PER_SECOND, self.stop)
            index = 0
            while pacer.wait():
                if frames is not None:
                    packet, speech = frames[index]
                    index = (index + 1) % len(frames)
                else:
                    packet, speech = self._next_frame()
                if speech:
                    self.client.send_media(StreamKind.AUDIO, Codec.OPUS, packet,
                                           capture_us=self.client.server_clock_us())
                    self.frames_sent += 1
                else:
                    self.frames_suppressed += 1
        except BaseException as exc:  # reported in the bot's JSON, not lost on a thread
            log.exception("audio sender failed")
            self.error = exc

    def _next_frame(self) -> tuple[bytes | None, bool]:
        pcm = self.source.read()
        if self.detector is not None and not self.detector.is_speech(pcm):
            return None, False
        return self.encoder.encode(pcm), True

    def _pre_encode(self) -> list[tuple[bytes | None, bool]]:
        return [self._next_frame() for _ in range(PRE_ENCODED_FRAMES)]
