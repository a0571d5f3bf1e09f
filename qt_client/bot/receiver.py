"""The bot's eyes and ears: a thread that feeds the shared receive pipeline and times what it plays."""

from __future__ import annotations

import logging
import queue
import threading

import numpy as np

from protocol.media import MediaHeader, MediaSource
from qt_client.bot.config import BotConfig
from qt_client.media.receive_pipeline import ReceivePipeline
from qt_client.net.meeting_client import MeetingClient

log = logging.getLogger(__name__)

# With nothing buffered, how long to block for the next frame; `wake` cuts it short.
IDLE_WAIT = 0.5


class MediaReceiver(threading.Thread):
    """Takes frames from the client's queue into a ReceivePipeline (ordering, 200 ms late drops,
    decoding, capture-to-decoded latency on the server's clock) and checks the pictures' size."""

    def __init__(self, client: MeetingClient, config: BotConfig, stop: threading.Event) -> None:
        super().__init__(name="bot-receiver", daemon=True)
        self.client = client
        self.config = config
        self.stop = stop
        self.frames = client.media_queue(maxsize=4096)
        self.pipeline = ReceivePipeline(client.server_clock_us, sample_rate=config.sample_rate,
                                        playout_delay_ms=config.playout_delay_ms, decode=config.decode,
                                        on_video=self._check_size, ask_keyframe=self._ask_keyframe)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self._take(self._wait_time())
                self.pipeline.play_due()
        except BaseException as exc:  # reported in the bot's JSON, not lost on a thread
            log.exception("receiver failed")
            self.error = exc
        finally:
            self.pipeline.close()

    def wake(self) -> None:
        """Make a blocked wait return now (used when stopping)."""
        try:
            self.frames.put_nowait(None)
        except queue.Full:
            pass  # a full queue wakes the thread anyway

    def report(self) -> dict[int, dict]:
        return self.pipeline.report()

    def _wait_time(self) -> float:
        due = self.pipeline.next_due_us()
        if due is None:
            return IDLE_WAIT
        return min(IDLE_WAIT, max(0.0, (due - self.client.server_clock_us()) / 1e6))

    def _take(self, timeout: float) -> None:
        try:
            item = self.frames.get(timeout=timeout) if timeout > 0 else self.frames.get_nowait()
        except queue.Empty:
            return
        while True:
            if item is not None:  # None only wakes us
                self.pipeline.arrive(*item)
            try:
                item = self.frames.get_nowait()
            except queue.Empty:
                return

    def _check_size(self, sender_id: int, source: MediaSource, image: np.ndarray, _: MediaHeader) -> None:
        if source is MediaSource.CAMERA and image.shape[:2] != (self.config.height, self.config.width):
            self.pipeline.peers[sender_id].stats.wrong_size += 1

    def _ask_keyframe(self, sender_id: int, source: MediaSource) -> None:
        try:
            # Blocks for one round trip (rate-limited by the gate): cheaper than a thread of its own.
            self.client.request_keyframe(sender_id)
        except Exception as exc:
            log.info("key frame request to user %d failed: %s", sender_id, exc)
