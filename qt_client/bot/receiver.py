"""The bot's eyes and ears: jitter buffers, decoders and per-peer statistics."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from protocol.media import Codec, MediaHeader, StreamKind
from qt_client.bot.config import BotConfig
from qt_client.bot.peer_stats import PeerStats
from qt_client.media.jitter_buffer import JitterBuffer
from qt_client.media.keyframe_gate import KeyframeGate
from qt_client.media.opus_codec import OpusDecoder
from qt_client.media.video_codec import DecodeError, make_video_decoder
from qt_client.net.meeting_client import MeetingClient

log = logging.getLogger(__name__)

# With nothing buffered, how long to block for the next frame; `wake` cuts it short.
IDLE_WAIT = 0.5


@dataclass
class _Peer:
    stats: PeerStats
    jitter: dict[StreamKind, JitterBuffer]
    video_decoders: dict[Codec, object] = field(default_factory=dict)
    audio_decoder: OpusDecoder | None = None
    keyframes: KeyframeGate = field(default_factory=KeyframeGate)


class MediaReceiver(threading.Thread):
    """Takes frames from the client's queue, orders them per sender, drops the
    late ones (200 ms), decodes, and measures capture-to-decoded latency on the
    server's clock."""

    def __init__(self, client: MeetingClient, config: BotConfig, stop: threading.Event,
                 joined_at: float) -> None:
        super().__init__(name="bot-receiver", daemon=True)
        self.client = client
        self.config = config
        self.stop = stop
        self.joined_at = joined_at
        self.frames = client.media_queue(maxsize=4096)
        self.peers: dict[int, _Peer] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self._take(self._wait_time())
                self._play_due()
        except BaseException as exc:  # reported in the bot's JSON, not lost on a thread
            log.exception("receiver failed")
            self.error = exc
        finally:
            for peer in self.peers.values():
                for decoder in peer.video_decoders.values():
                    decoder.close()

    def wake(self) -> None:
        """Make a blocked wait return now (used when stopping)."""
        try:
            self.frames.put_nowait(None)
        except queue.Full:
            pass  # a full queue wakes the thread anyway

    def report(self) -> dict[int, dict]:
        out = {}
        for sender_id, peer in self.peers.items():
            peer.stats.dropped_late = sum(j.stats.dropped_late for j in peer.jitter.values())
            out[sender_id] = peer.stats.report()
        return out

    def _wait_time(self) -> float:
        due = [due_us for peer in self.peers.values() for jitter in peer.jitter.values()
               if (due_us := jitter.next_due_us()) is not None]
        if not due:
            return IDLE_WAIT
        return min(IDLE_WAIT, max(0.0, (min(due) - self.client.server_clock_us()) / 1e6))

    def _take(self, timeout: float) -> None:
        try:
            item = self.frames.get(timeout=timeout) if timeout > 0 else self.frames.get_nowait()
        except queue.Empty:
            return
        while True:
            if item is not None:  # None only wakes us
                self._arrive(*item)
            try:
                item = self.frames.get_nowait()
            except queue.Empty:
                return

    def _arrive(self, header: MediaHeader, payload: memoryview) -> None:
        peer = self.peers.get(header.sender_id)
        if peer is None:
            delay = self.config.playout_delay_ms * 1000
            peer = self.peers[header.sender_id] = _Peer(
                PeerStats(), {StreamKind.AUDIO: JitterBuffer(delay), StreamKind.VIDEO: JitterBuffer(delay)})
        stats = peer.stats
        if header.stream is StreamKind.VIDEO:
            stats.video_frames += 1
        else:
            stats.audio_frames += 1
        stats.bytes += len(payload)
        peer.jitter[header.stream].push(header, payload, self.client.server_clock_us())

    def _play_due(self) -> None:
        now = self.client.server_clock_us()
        if not self.config.decode:
            self._count_undecoded(now)
            return
        for sender_id, peer in self.peers.items():
            for header, payload in peer.jitter[StreamKind.AUDIO].pop_ready(now):
                self._play_audio(peer, header, payload)
            for header, payload in peer.jitter[StreamKind.VIDEO].pop_ready(now):
                self._play_video(sender_id, peer, header, payload)

    def _count_undecoded(self, now: int) -> None:
        """Load-test mode: the latency of each frame that is due, but no decoding."""
        for peer in self.peers.values():
            for stream, jitter in peer.jitter.items():
                latencies = (peer.stats.video_latency_ms if stream is StreamKind.VIDEO
                             else peer.stats.audio_latency_ms)
                for header, _ in jitter.pop_ready(now):
                    latencies.append((now - header.capture_us) / 1000)

    def _play_audio(self, peer: _Peer, header: MediaHeader, payload: memoryview) -> None:
        if peer.audio_decoder is None:
            peer.audio_decoder = OpusDecoder(self.config.sample_rate)
        try:
            peer.audio_decoder.decode(bytes(payload))
        except Exception:
            peer.stats.decode_errors += 1
            return
        peer.stats.decoded += 1
        peer.stats.audio_latency_ms.append((self.client.server_clock_us() - header.capture_us) / 1000)

    def _play_video(self, sender_id: int, peer: _Peer, header: MediaHeader, payload: memoryview) -> None:
        stats = peer.stats
        if not peer.keyframes.admit(header):
            self._maybe_ask_for_keyframe(sender_id, peer)
            return
        decoder = peer.video_decoders.get(header.codec)
        if decoder is None:
            try:
                decoder = peer.video_decoders[header.codec] = make_video_decoder(header.codec)
            except ValueError:  # not a video codec we know: count it, keep the thread alive
                stats.decode_errors += 1
                return
        try:
            image = decoder.decode(bytes(payload))
        except DecodeError:
            stats.decode_errors += 1
            peer.keyframes.decode_failed()
            self._maybe_ask_for_keyframe(sender_id, peer)
            return
        if image is None:
            return
        stats.decoded += 1
        if image.shape[:2] != (self.config.height, self.config.width):
            stats.wrong_size += 1
        stats.video_latency_ms.append((self.client.server_clock_us() - header.capture_us) / 1000)
        if header.keyframe:
            stats.keyframes += 1
            if stats.first_keyframe_ms is None:
                stats.first_keyframe_ms = (time.monotonic() - self.joined_at) * 1000

    def _maybe_ask_for_keyframe(self, sender_id: int, peer: _Peer) -> None:
        if not peer.keyframes.should_request(time.monotonic()):
            return
        peer.stats.keyframe_requests_sent += 1
        try:
            # Blocks for one round trip (rate-limited by the gate): cheaper than a thread of its own.
            self.client.request_keyframe(sender_id)
        except Exception as exc:
            log.info("key frame request to user %d failed: %s", sender_id, exc)
