"""What arrived from one other participant, and what became of it: the bot's report and the tiles' quality."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

# Latencies kept for the percentiles: the newest few minutes' worth, so a long call's memory stays flat.
LATENCY_SAMPLES = 50_000


def _samples() -> deque[float]:
    return deque(maxlen=LATENCY_SAMPLES)


def percentile(values: Iterable[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None when there is nothing to rank."""
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return round(ordered[index], 2)


@dataclass
class PeerStats:
    video_frames: int = 0
    audio_frames: int = 0
    bytes: int = 0
    decoded: int = 0
    decode_errors: int = 0
    wrong_size: int = 0
    dropped_late: int = 0
    keyframes: int = 0
    keyframe_requests_sent: int = 0
    hidden_skipped: int = 0  # video frames not decoded because no tile showed them
    first_keyframe_ms: float | None = None
    video_latency_ms: deque[float] = field(default_factory=_samples)
    audio_latency_ms: deque[float] = field(default_factory=_samples)

    def report(self) -> dict:
        latencies = [*self.video_latency_ms, *self.audio_latency_ms]
        video_p50 = percentile(self.video_latency_ms, 0.5)
        audio_p50 = percentile(self.audio_latency_ms, 0.5)
        return {
            "video_frames": self.video_frames, "audio_frames": self.audio_frames, "bytes": self.bytes,
            "decoded": self.decoded, "decode_errors": self.decode_errors, "wrong_size": self.wrong_size,
            "dropped_late": self.dropped_late, "keyframes": self.keyframes,
            "keyframe_requests_sent": self.keyframe_requests_sent, "hidden_skipped": self.hidden_skipped,
            "first_keyframe_ms": None if self.first_keyframe_ms is None else round(self.first_keyframe_ms, 1),
            "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
                           "p99": percentile(latencies, 0.99)},
            "video_latency_ms": {"p50": video_p50, "p95": percentile(self.video_latency_ms, 0.95)},
            "audio_latency_ms": {"p50": audio_p50, "p95": percentile(self.audio_latency_ms, 0.95)},
            # Audio and video of one sender at playout: how far apart they are.
            "av_sync_ms": (None if video_p50 is None or audio_p50 is None
                           else round(abs(video_p50 - audio_p50), 2)),
        }
