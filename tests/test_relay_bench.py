"""benchmarks/relay_bench.py works end to end and prints one JSON document of the stated shape.

Not a timed test: latencies and capacities are not checked, only that every
implementation ran, received what was sent, and was reported in every table.
"""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROW_KEYS = {"impl", "threads", "scenario", "participants", "frames_s", "mb_s", "p50_ms", "p95_ms", "p99_ms",
            "p999_ms", "drops", "cpu_pct", "cpu_sys_pct", "rss_mb"}
HAVE_BASELINE = os.path.exists(os.path.join(ROOT, "benchmarks", "baselines", "asyncio_relay.py"))


def test_a_tiny_quick_sweep_prints_rows_capacity_and_the_iperf3_ceiling():
    impls = "ours,asyncio" if HAVE_BASELINE else "ours"
    iperf3_seconds = "1" if shutil.which("iperf3") else "0"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.relay_bench", "--quick", "--impls", impls, "--steps-rooms5", "5",
         "--seconds", "0.6", "--warmup", "0.3", "--iperf3-seconds", iperf3_seconds],
        cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)

    expected = [("ours", 1), ("asyncio", 1)] if HAVE_BASELINE else [("ours", 1)]
    assert [(row["impl"], row["threads"]) for row in document["rows"]] == expected
    for row in document["rows"]:
        assert ROW_KEYS <= set(row)
        assert (row["scenario"], row["participants"]) == ("rooms5", 5)
        # Five people each sending 15 video and 50 audio frames a second to four others.
        assert 0 < row["frames_s"] <= 5 * 65 * 4 * 1.05
        assert row["mb_s"] > 0 and row["p99_ms"] is not None and row["p50_ms"] <= row["p99_ms"]
        assert 0 <= row["cpu_sys_pct"] <= row["cpu_pct"] and row["rss_mb"] > 0

    labels = {"ours x1", "asyncio"} if HAVE_BASELINE else {"ours x1"}
    assert set(document["capacity"]["rooms5"]) == labels
    for entry in document["capacity"]["rooms5"].values():
        assert entry["participants"] in (0, 5)
    if shutil.which("iperf3"):
        assert document["iperf3_mb_s"] > 0


def test_tls_both_measures_ours_in_clear_and_over_tls_in_one_run():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.relay_bench", "--quick", "--impls", "ours", "--tls", "both",
         "--steps-rooms5", "5", "--seconds", "0.6", "--warmup", "0.3", "--iperf3-seconds", "0"],
        cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [(row["impl"], row["tls"]) for row in document["rows"]] == [("ours", False), ("ours", True)]
    for row in document["rows"]:
        assert 0 < row["frames_s"] <= 5 * 65 * 4 * 1.05  # over TLS too, the generators got their frames
    assert set(document["capacity"]["rooms5"]) == {"ours x1", "ours x1 +TLS"}
    assert "ours x1 +TLS/clear" in document["ratios"]["rooms5"]
