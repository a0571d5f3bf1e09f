"""Frames from the server -> jitter buffers -> decoders, for the bot and the desktop client alike."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from protocol.media import Codec, MediaHeader, MediaSource, StreamKind
from qt_client.media.jitter_buffer import JitterBuffer
from qt_client.media.keyframe_gate import KeyframeGate
from qt_client.media.opus_codec import OpusDecoder
from qt_client.media.peer_stats import PeerStats
from qt_client.media.video_codec import DecodeError, VideoDecoder, make_video_decoder

log = logging.getLogger(__name__)

# (stream, source): audio has one source; video has the camera and the screen share.
Lane = tuple[StreamKind, MediaSource]
AUDIO_LANE: Lane = (StreamKind.AUDIO, MediaSource.CAMERA)

AudioSink = Callable[[int, np.ndarray, MediaHeader], None]
VideoSink = Callable[[int, MediaSource, np.ndarray, MediaHeader], None]
KeyframeAsker = Callable[[int, MediaSource], None]
VideoWanted = Callable[[int, MediaSource], bool]
VideoFit = Callable[[int, MediaSource], "tuple[int, int] | None"]


@dataclass
class _VideoLane:
    """One video stream of one sender: decoded on its own, from its own key frames."""

    decoders: dict[Codec, VideoDecoder] = field(default_factory=dict)
    keyframes: KeyframeGate = field(default_factory=KeyframeGate)
    decoded_since_report: int = 0

    def close(self) -> None:
        for decoder in self.decoders.values():
            decoder.close()
        self.decoders.clear()


@dataclass
class Peer:
    """Everything kept about one sender."""

    stats: PeerStats
    jitter: dict[Lane, JitterBuffer]
    video: dict[MediaSource, _VideoLane] = field(default_factory=dict)
    audio_decoder: OpusDecoder | None = None

    def close(self) -> None:
        for lane in self.video.values():
            lane.close()

    def dropped_late(self) -> int:
        return sum(jitter.stats.dropped_late for jitter in self.jitter.values())


def _ignore(*_args: Any) -> None:
    pass


class ReceivePipeline:
    """Orders each sender's frames, drops those 200 ms late (server clock), decodes the rest.

    Qt-free and thread-free: whoever owns it (the bot's receiver thread, the
    desktop client's receive worker) calls `arrive` for each frame and
    `play_due` when `next_due_us` comes, on one thread. Decoded audio and
    video go to the sinks; a stream that cannot decode asks for a key frame
    through `ask_keyframe`, at most twice a second. Video that `video_wanted`
    declines (a tile nobody can see) is not decoded at all; when it is wanted
    again, its inter-coded stream waits for a key frame and asks for one. Video
    comes out BGR (RGB with `rgb`), shrunk within what `video_fit` says (the
    tile's size), so that nothing bigger than the screen shows is converted.
    """

    def __init__(self, clock_us: Callable[[], int], *, sample_rate: int = 48000, playout_delay_ms: int = 40,
                 decode: bool = True, on_audio: AudioSink = _ignore, on_video: VideoSink = _ignore,
                 ask_keyframe: KeyframeAsker = _ignore, video_wanted: VideoWanted | None = None,
                 video_fit: VideoFit | None = None, rgb: bool = False) -> None:
        self.clock_us = clock_us
        self.sample_rate = sample_rate
        self.playout_delay_us = playout_delay_ms * 1000
        self.decode = decode
        self.on_audio = on_audio
        self.on_video = on_video
        self.ask_keyframe = ask_keyframe
        self.video_wanted = video_wanted
        self.video_fit = video_fit
        self.rgb = rgb
        self.peers: dict[int, Peer] = {}
        self.started = self._reported_at = time.monotonic()

    # -- input -------------------------------------------------------------------

    def arrive(self, header: MediaHeader, payload: memoryview | bytes) -> None:
        """Take one frame as it comes off the network (the payload is kept, not copied)."""
        peer = self.peers.get(header.sender_id)
        if peer is None:
            peer = self.peers[header.sender_id] = Peer(PeerStats(), {})
        source = header.source if header.stream is StreamKind.VIDEO else MediaSource.CAMERA
        lane: Lane = (header.stream, source)
        jitter = peer.jitter.get(lane)
        if jitter is None:
            jitter = peer.jitter[lane] = JitterBuffer(self.playout_delay_us)
        stats = peer.stats
        if header.stream is StreamKind.VIDEO:
            stats.video_frames += 1
        else:
            stats.audio_frames += 1
        stats.bytes += len(payload)
        jitter.push(header, payload, self.clock_us())

    def keep_only(self, present: set[int]) -> None:
        """Forget senders who left: their buffers and decoders."""
        for sender_id in [sender_id for sender_id in self.peers if sender_id not in present]:
            self.peers.pop(sender_id).close()

    def close(self) -> None:
        """Free the decoders now; the statistics stay for a last report."""
        for peer in self.peers.values():
            peer.close()

    # -- output -----------------------------------------------------------------

    def next_due_us(self) -> int | None:
        """When the earliest buffered frame is due (server clock), or None when nothing waits."""
        due = [due_us for peer in self.peers.values() for jitter in peer.jitter.values()
               if (due_us := jitter.next_due_us()) is not None]
        return min(due) if due else None

    def play_due(self) -> None:
        """Decode (or, without decoding, time) every frame whose playout time has come."""
        now = self.clock_us()
        for sender_id, peer in list(self.peers.items()):
            for (stream, source), jitter in list(peer.jitter.items()):
                for header, payload in jitter.pop_ready(now):
                    if not self.decode:
                        self._count_undecoded(peer.stats, header, now)
                    elif stream is StreamKind.AUDIO:
                        self._play_audio(sender_id, peer, header, payload)
                    else:
                        self._play_video(sender_id, peer, source, header, payload)

    def report(self) -> dict[int, dict[str, Any]]:
        """Each sender's full statistics (PeerStats.report: latency percentiles too, which sort
        every sample kept) with the frame rates of `quality`: for a report at the end."""
        quality = self.quality()
        out = {}
        for sender_id, peer in self.peers.items():
            peer.stats.dropped_late = peer.dropped_late()
            out[sender_id] = {**peer.stats.report(), **quality[sender_id]}
        return out

    def quality(self) -> dict[int, dict[str, Any]]:
        """Cheap, for a display every second: per sender, each video source's frame rate decoded
        since the last call, late frames dropped and decode errors so far."""
        now = time.monotonic()
        elapsed, self._reported_at = now - self._reported_at, now
        out = {}
        for sender_id, peer in self.peers.items():
            figures: dict[str, Any] = {"dropped_late": peer.dropped_late(),
                                       "decode_errors": peer.stats.decode_errors,
                                       "hidden_skipped": peer.stats.hidden_skipped}
            for source, lane in peer.video.items():
                fps = lane.decoded_since_report / elapsed if elapsed > 0 else 0.0
                figures[f"{source.name.lower()}_fps"] = round(fps, 1)
                lane.decoded_since_report = 0
            out[sender_id] = figures
        return out

    # -- the work ------------------------------------------------------------------

    @staticmethod
    def _count_undecoded(stats: PeerStats, header: MediaHeader, now: int) -> None:
        latencies = stats.video_latency_ms if header.stream is StreamKind.VIDEO else stats.audio_latency_ms
        latencies.append((now - header.capture_us) / 1000)

    def _play_audio(self, sender_id: int, peer: Peer, header: MediaHeader, payload: memoryview) -> None:
        if peer.audio_decoder is None:
            peer.audio_decoder = OpusDecoder(self.sample_rate)
        try:
            pcm = peer.audio_decoder.decode(bytes(payload))
        except ValueError as exc:
            log.debug("audio from user %d does not decode: %s", sender_id, exc)
            peer.stats.decode_errors += 1
            return
        peer.stats.decoded += 1
        peer.stats.audio_latency_ms.append((self.clock_us() - header.capture_us) / 1000)
        self.on_audio(sender_id, pcm, header)

    def _play_video(self, sender_id: int, peer: Peer, source: MediaSource, header: MediaHeader,
                    payload: memoryview) -> None:
        stats = peer.stats
        lane = peer.video.get(source)
        if lane is None:
            lane = peer.video[source] = _VideoLane()
        if self.video_wanted is not None and not self.video_wanted(sender_id, source):
            # Nobody sees it: no decoding; an inter-coded stream restarts from a key frame later.
            stats.hidden_skipped += 1
            lane.keyframes.decode_failed()
            return
        if not lane.keyframes.admit(header):
            self._maybe_ask_for_keyframe(sender_id, peer, source, lane)
            return
        decoder = lane.decoders.get(header.codec)
        if decoder is None:
            try:
                decoder = lane.decoders[header.codec] = make_video_decoder(header.codec)
            except ValueError:  # not a video codec we know: count it, keep going
                stats.decode_errors += 1
                return
        try:
            fit = self.video_fit(sender_id, source) if self.video_fit is not None else None
            image = decoder.decode(bytes(payload), fit, self.rgb)
        except DecodeError:
            stats.decode_errors += 1
            lane.keyframes.decode_failed()
            self._maybe_ask_for_keyframe(sender_id, peer, source, lane)
            return
        if image is None:
            return
        stats.decoded += 1
        lane.decoded_since_report += 1
        stats.video_latency_ms.append((self.clock_us() - header.capture_us) / 1000)
        if header.keyframe:
            stats.keyframes += 1
            if stats.first_keyframe_ms is None:
                stats.first_keyframe_ms = (time.monotonic() - self.started) * 1000
        self.on_video(sender_id, source, image, header)

    def _maybe_ask_for_keyframe(self, sender_id: int, peer: Peer, source: MediaSource,
                                lane: _VideoLane) -> None:
        if lane.keyframes.should_request(time.monotonic()):
            peer.stats.keyframe_requests_sent += 1
            self.ask_keyframe(sender_id, source)
