"""benchmarks/pingpong.py works end to end and prints rows of the stated shape.

Not a timed test: the figures are not checked, only that every implementation
ran and reported a positive rate.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_tiny_sweep_prints_one_row_per_implementation():
    result = subprocess.run(
        [sys.executable, "benchmarks/pingpong.py", "--impls", "reactor,asyncio", "--reactor-threads", "1",
         "--sizes", "4k", "--conns", "2", "--seconds", "0.5", "--warmup", "0.2"],
        cwd=ROOT, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["impl"], row["threads"]) for row in rows] == [("reactor", 1), ("asyncio", 1)]
    for row in rows:
        assert set(row) == {"impl", "threads", "tls", "size", "conns", "mib_s", "msgs_s"}
        assert (row["size"], row["conns"]) == (4096, 2)
        assert row["mib_s"] > 0 and row["msgs_s"] > 0
    assert "reactor/asyncio" in result.stderr


def test_tls_both_echoes_in_clear_and_over_tls_side_by_side():
    result = subprocess.run(
        [sys.executable, "benchmarks/pingpong.py", "--impls", "reactor,asyncio", "--reactor-threads", "1",
         "--sizes", "4k", "--conns", "2", "--seconds", "0.5", "--warmup", "0.2", "--tls", "both"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(row["impl"], row["tls"]) for row in rows] == [("reactor", False), ("reactor", True),
                                                            ("asyncio", False), ("asyncio", True)]
    assert all(row["mib_s"] > 0 for row in rows)
    assert "reactor x1 TLS/clear" in result.stderr
