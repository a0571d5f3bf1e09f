"""benchmarks/receive_pipeline_bench.py plays every frame it replays and reports its CPU (not judged)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_receive_pipeline_bench_plays_every_frame_and_reports_its_cpu() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.receive_pipeline_bench"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["played"] == {"audio": 2000, "video": 600} and report["cpu_percent"] > 0
