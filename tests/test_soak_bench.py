"""benchmarks/soak.py runs and reports what it promises (a smoke run of a few seconds, not judged)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_soak_reports_memory_fds_delivery_and_tracebacks() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.soak", "--bots", "3", "--minutes", "0.2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bot_reports"] == 3 and report["bot_errors"] == []
    assert report["delivered_ratio"] is not None and report["delivered_ratio"] > 0.5
    assert report["rss_mib"]["max"] > 10 and report["fds"]["first"] > 0
    assert report["tracebacks"] == {"server": 0, "bots": 0}
