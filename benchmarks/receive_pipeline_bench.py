"""What the shared receive pipeline costs with no Qt, no network and no other process around it.

    .venv/bin/python -m benchmarks.receive_pipeline_bench            # prints JSON

Replays 10 s of four peers (640x480 H.264 at 15 fps and Opus every 20 ms) through a
ReceivePipeline on a simulated clock, decoding video to RGB within a 298x224 tile as the
desktop client's grid of five does, and prints the CPU it took as % of one core. Set
beside benchmarks/client_cpu.py's receive thread, it shows how much of that thread's cost
is the pipeline itself and how much is running among the other threads and processes.
"""

from __future__ import annotations

import json
import sys
import time

from protocol.media import Codec, MediaHeader, StreamKind
from qt_client.media.audio_source import ToneSource
from qt_client.media.opus_codec import OpusEncoder
from qt_client.media.receive_pipeline import ReceivePipeline
from qt_client.media.test_pattern_source import TestPatternSource
from qt_client.media.video_codec import make_video_encoder

PEERS, SECONDS, FPS = 4, 10, 15
TILE = (298, 224)


def main() -> int:
    source, encoder = TestPatternSource(640, 480, FPS), make_video_encoder(Codec.H264, 640, 480, FPS)
    video = [encoder.encode(source.read()[0], force_keyframe=i == 0).payload for i in range(SECONDS * FPS)]
    opus, tone = OpusEncoder(48000), ToneSource(48000)
    audio = [opus.encode(tone.read()) for _ in range(SECONDS * 50)]
    now = [0]
    played = {"audio": 0, "video": 0}
    pipeline = ReceivePipeline(lambda: now[0], playout_delay_ms=40, rgb=True, video_fit=lambda *_: TILE,
                               on_audio=lambda *_: played.__setitem__("audio", played["audio"] + 1),
                               on_video=lambda *_: played.__setitem__("video", played["video"] + 1))
    events = []
    for peer in range(PEERS):
        events += [(i * 1_000_000 // FPS, MediaHeader(StreamKind.VIDEO, peer, i, i * 1_000_000 // FPS,
                                                      Codec.H264, i == 0), payload)
                   for i, payload in enumerate(video)]
        events += [(i * 20_000, MediaHeader(StreamKind.AUDIO, peer, i, i * 20_000, Codec.OPUS, False),
                    payload) for i, payload in enumerate(audio)]
    events.sort(key=lambda event: event[0])
    started, index = time.process_time(), 0
    for tick in range(0, (SECONDS + 1) * 1_000_000, 10_000):  # polled every 10 ms, as the worker does
        now[0] = tick
        while index < len(events) and events[index][0] <= tick:
            pipeline.arrive(events[index][1], memoryview(events[index][2]))
            index += 1
        pipeline.play_due()
    cpu = time.process_time() - started
    print(json.dumps({"peers": PEERS, "seconds": SECONDS, "tile": f"{TILE[0]}x{TILE[1]}",
                      "cpu_percent": round(100 * cpu / SECONDS, 1), "played": played}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
