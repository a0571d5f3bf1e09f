"""Cost of Opus per 20 ms frame: encode and decode time and packet size, at 16 and 48 kHz.

A call spends this CPU on every frame it sends and on every other participant's
frame it plays, so it bounds how many people one client can hear on a small machine.
The input is the committed speech clip (with its pauses), looped.

    .venv/bin/python -m benchmarks.opus_bench
    .venv/bin/python -m benchmarks.opus_bench --frames 2000 --bitrates 16000,32000,64000

Stdout is exactly a JSON list of rows {codec, sample_rate, bitrate, encode_ms, decode_ms, bytes}.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qt_client.media.audio_source import WavSource
from qt_client.media.opus_codec import OpusDecoder, OpusEncoder

SPEECH = Path(__file__).resolve().parent.parent / "tests" / "data" / "speech_with_gaps.wav"
RATES = (16000, 48000)


def measure(sample_rate: int, bitrate: int, frames: int) -> dict:
    """Mean milliseconds per frame to encode and to decode, and mean bytes per packet."""
    source = WavSource(SPEECH, sample_rate)
    pcm = [source.read() for _ in range(frames)]  # read first: only the codec is timed
    encoder, decoder = OpusEncoder(sample_rate, bitrate), OpusDecoder(sample_rate)
    start = time.perf_counter()
    packets = [encoder.encode(frame) for frame in pcm]
    encoded = time.perf_counter()
    for packet in packets:
        decoder.decode(packet)
    decoded = time.perf_counter()
    return {
        "codec": "opus", "sample_rate": sample_rate, "bitrate": bitrate,
        "encode_ms": round((encoded - start) * 1000 / frames, 4),
        "decode_ms": round((decoded - encoded) * 1000 / frames, 4),
        "bytes": round(sum(len(p) for p in packets) / frames, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1500, help="frames per point (50 per second)")
    parser.add_argument("--bitrates", default="32000", help="comma-separated bit rates in bit/s")
    args = parser.parse_args()
    rows = [measure(rate, int(bitrate), args.frames)
            for rate in RATES for bitrate in args.bitrates.split(",")]
    print("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]")


if __name__ == "__main__":
    main()
