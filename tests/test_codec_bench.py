"""benchmarks/codec_bench.py runs end to end and prints rows of the stated shape.

Not a timed test: the figures are not checked, only that every codec setting
and source was measured and reported sensible values.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_tiny_run_prints_one_row_per_codec_setting_and_source() -> None:
    command = [sys.executable, "-m", "benchmarks.codec_bench", "--sizes", "320x240", "--frames", "3"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    rows, opus = rows[:-2], rows[-2:]
    settings = [("JPEG", 50), ("JPEG", 70), ("JPEG", 90), ("H264", 1_000_000), ("VP8", 1_000_000)]
    assert [(row["source"], row["codec"], row["quality_or_bitrate"]) for row in rows] == [
        (source, codec, setting) for source in ("pattern", "clip") for codec, setting in settings]
    assert [(row["codec"], row["size"]) for row in opus] == [("OPUS", "16000 Hz"), ("OPUS", "48000 Hz")]
    for row in opus:
        assert row["encode_ms"] > 0 and row["decode_ms"] > 0 and 10 < row["bytes"] < 200
    for row in rows:
        assert set(row) == {"codec", "quality_or_bitrate", "size", "source", "encode_ms", "decode_ms",
                            "bytes", "psnr_db"}
        assert row["size"] == "320x240"
        assert row["encode_ms"] > 0 and row["decode_ms"] > 0 and row["bytes"] > 0
        assert row["psnr_db"] > 25


def test_a_malformed_size_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.codec_bench", "--sizes", "640by480"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "640by480" in result.stderr
