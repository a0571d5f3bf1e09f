"""What a bot saw of one other participant, for its JSON report."""

from __future__ import annotations

from dataclasses import dataclass, field


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile; None when there is nothing to rank."""
    if not values:
        return None
    ordered = sorted(values)
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
    first_keyframe_ms: float | None = None
    video_latency_ms: list[float] = field(default_factory=list)
    audio_latency_ms: list[float] = field(default_factory=list)

    def report(self) -> dict:
        latencies = self.video_latency_ms + self.audio_latency_ms
        video_p50 = percentile(self.video_latency_ms, 0.5)
        audio_p50 = percentile(self.audio_latency_ms, 0.5)
        return {
            "video_frames": self.video_frames, "audio_frames": self.audio_frames, "bytes": self.bytes,
            "decoded": self.decoded, "decode_errors": self.decode_errors, "wrong_size": self.wrong_size,
            "dropped_late": self.dropped_late, "keyframes": self.keyframes,
            "keyframe_requests_sent": self.keyframe_requests_sent,
            "first_keyframe_ms": None if self.first_keyframe_ms is None else round(self.first_keyframe_ms, 1),
            "latency_ms": {"p50": percentile(latencies, 0.5), "p95": percentile(latencies, 0.95),
                           "p99": percentile(latencies, 0.99)},
            "video_latency_ms": {"p50": video_p50, "p95": percentile(self.video_latency_ms, 0.95)},
            "audio_latency_ms": {"p50": audio_p50, "p95": percentile(self.audio_latency_ms, 0.95)},
            # Audio and video of one sender at playout: how far apart they are.
            "av_sync_ms": (None if video_p50 is None or audio_p50 is None
                           else round(abs(video_p50 - audio_p50), 2)),
        }
