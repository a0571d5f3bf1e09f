"""Media codecs compared on what a meeting pays for: time per frame on the sender and receiver, and bytes.

Video: JPEG at qualities 50/70/90 (the original client's codec) against H.264
and VP8 at a meeting bitrate, at 640x480 and 1280x720, on the flat test pattern
and on the camera-like clip (tests/data/clip.avi, upscaled). Audio: Opus at
32 kbit/s per 20 ms frame of the speech clip, at 16 and 48 kHz.

    .venv/bin/python -m benchmarks.codec_bench --quick
    .venv/bin/python -m benchmarks.codec_bench --png docs/benchmarks/codec_bench.png > codec_bench.json

Stdout is exactly a JSON list of rows {codec, quality_or_bitrate, size, source,
encode_ms, decode_ms, bytes, psnr_db}: medians over the frames measured, all
frames counted, key frames included (Opus rows: means, `size` is the sample
rate, no PSNR). Progress goes to stderr. Each entry of BENCHMARKS yields rows
of this shape.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from benchmarks import opus_bench
from protocol.media import Codec
from qt_client.media.test_pattern_source import TestPatternSource
from qt_client.media.video_codec import make_video_decoder, make_video_encoder
from qt_client.media.video_file_source import VideoFileSource
from qt_client.media.video_source import parse_size

ROOT = Path(__file__).resolve().parent.parent
CLIP = ROOT / "tests" / "data" / "clip.avi"
FPS = 15
SOURCES = ("pattern", "clip")
JPEG_QUALITIES = (50, 70, 90)
# Roughly what meeting products spend at these sizes.
BITRATES = {(640, 480): 800_000, (1280, 720): 1_500_000}
FULL_SIZES = ((640, 480), (1280, 720))
OPUS_RATES = (16000, 48000)
OPUS_BITRATE = 32_000

Row = dict[str, object]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def source_frames(source: str, size: tuple[int, int], count: int) -> list[np.ndarray]:
    """Frames made before timing starts, so that only the codec is measured."""
    reader = TestPatternSource(*size, fps=FPS) if source == "pattern" else VideoFileSource(CLIP, *size)
    with reader:
        return [reader.read()[0] for _ in range(count)]


def measure(codec: Codec, setting: int, size: tuple[int, int], source: str,
            frames: list[np.ndarray]) -> Row:
    """One codec setting over the frames, each encoded and decoded at once, as a live call does."""
    options = {"quality": setting} if codec is Codec.JPEG else {"bitrate": setting}
    encoder = make_video_encoder(codec, *size, FPS, **options)
    decoder = make_video_decoder(codec)
    encode_ms, decode_ms, sizes, psnr = [], [], [], []
    for frame in frames:
        started = time.perf_counter()
        encoded = encoder.encode(frame)
        encoded_at = time.perf_counter()
        if encoded is None:
            raise RuntimeError(f"{codec.name} held a frame back")
        decoded = decoder.decode(encoded.payload)
        decoded_at = time.perf_counter()
        if decoded is None:
            raise RuntimeError(f"{codec.name} gave no frame for its packet")
        encode_ms.append((encoded_at - started) * 1000)
        decode_ms.append((decoded_at - encoded_at) * 1000)
        sizes.append(len(encoded.payload))
        psnr.append(cv2.PSNR(frame, decoded))
    encoder.close()
    decoder.close()
    return {"codec": codec.name, "quality_or_bitrate": setting, "size": f"{size[0]}x{size[1]}",
            "source": source, "encode_ms": round(statistics.median(encode_ms), 3),
            "decode_ms": round(statistics.median(decode_ms), 3), "bytes": round(statistics.median(sizes)),
            "psnr_db": round(statistics.median(psnr), 2)}


def video_rows(args: argparse.Namespace) -> Iterator[Row]:
    for size in args.sizes:
        settings = [(Codec.JPEG, q) for q in JPEG_QUALITIES]
        settings += [(codec, BITRATES.get(size, 1_000_000)) for codec in (Codec.H264, Codec.VP8)]
        for source in SOURCES:
            frames = source_frames(source, size, args.frames)
            for codec, setting in settings:
                row = measure(codec, setting, size, source, frames)
                log(f"{row['codec']:>4} {setting:>9} {row['size']:>9} {source:>7}: "
                    f"encode {row['encode_ms']:6.2f} ms  decode {row['decode_ms']:6.2f} ms  "
                    f"{row['bytes']:>7} B  {row['psnr_db']:5.2f} dB")
                yield row


def audio_rows(args: argparse.Namespace) -> Iterator[Row]:
    """Opus per 20 ms frame of the speech clip, in the same row shape (size: the sample rate)."""
    frames = 100 if args.quick else 1500
    for sample_rate in OPUS_RATES:
        opus = opus_bench.measure(sample_rate, OPUS_BITRATE, frames)
        log(f"OPUS {OPUS_BITRATE:>9} {sample_rate:>6} Hz  speech: encode {opus['encode_ms']:6.3f} ms  "
            f"decode {opus['decode_ms']:6.3f} ms  {opus['bytes']:>7} B")
        yield {"codec": "OPUS", "quality_or_bitrate": OPUS_BITRATE, "size": f"{sample_rate} Hz",
               "source": "speech", "encode_ms": opus["encode_ms"], "decode_ms": opus["decode_ms"],
               "bytes": opus["bytes"], "psnr_db": None}


BENCHMARKS: list[Callable[[argparse.Namespace], Iterator[Row]]] = [video_rows, audio_rows]


def draw_png(rows: list[Row], path: Path) -> None:
    """Bytes per frame against encode time, one panel per size: the trade a sender makes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [row for row in rows if row["psnr_db"] is not None]  # video only: audio has no picture
    sizes = list(dict.fromkeys(str(row["size"]) for row in rows))
    fig, axes = plt.subplots(1, len(sizes), figsize=(6 * len(sizes), 4.5), squeeze=False)
    for ax, size in zip(axes[0], sizes, strict=True):
        for row in (row for row in rows if row["size"] == size):
            marker = "o" if row["source"] == "pattern" else "s"
            ax.scatter(row["encode_ms"], row["bytes"], marker=marker)
            ax.annotate(f"{row['codec']} {row['quality_or_bitrate']} ({row['source']})",
                        (row["encode_ms"], row["bytes"]), fontsize=7, xytext=(4, 2),
                        textcoords="offset points")
        ax.set_yscale("log")
        ax.set_title(size)
        ax.set_xlabel("encode ms per frame")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("bytes per frame")
    fig.suptitle("video codecs: cost against size (o test pattern, s camera-like clip)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="codec benchmark: encode/decode time and bytes per frame")
    parser.add_argument("--quick", action="store_true", help="640x480 only, 10 frames (a few seconds)")
    parser.add_argument("--sizes", help="comma-separated sizes, e.g. 640x480,1280x720 (the default)")
    parser.add_argument("--frames", type=int, help="frames per measurement (default 60, 10 with --quick)")
    parser.add_argument("--png", type=Path, help="also draw bytes against encode time to this PNG")
    args = parser.parse_args(argv)
    try:
        args.sizes = [parse_size(text) for text in args.sizes.split(",")] if args.sizes else None
    except ValueError as exc:
        parser.error(str(exc))
    args.sizes = args.sizes or ([(640, 480)] if args.quick else list(FULL_SIZES))
    args.frames = args.frames or (10 if args.quick else 60)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = [row for benchmark in BENCHMARKS for row in benchmark(args)]
    print("[\n" + ",\n".join(json.dumps(row) for row in rows) + "\n]", flush=True)
    if args.png and rows:
        draw_png(rows, args.png)
        log(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
