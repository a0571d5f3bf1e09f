"""benchmarks/restart_recovery.py runs and reports what it promises (a smoke run, its figures not judged)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_restart_recovery_hears_every_bot_again_and_reports_how_soon() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.restart_recovery", "--bots", "2",
                             "--runs", "1", "--down", "0.2", "--settle", "0.5"],
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    (run,) = report["runs"]
    assert run["heard_again"] == run["of"] == 2 and len(run["seconds"]) == 2
    assert report["all_runs"]["never_heard"] == 0 and report["all_runs"]["p95_s"] > 0
    assert report["tracebacks"] == {"server": 0, "bots": 0}
