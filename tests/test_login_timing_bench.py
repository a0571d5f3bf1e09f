"""benchmarks/login_timing.py runs and reports what it promises (a smoke run, not judged)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_login_timing_reports_both_refusals_and_the_login_during_a_flood() -> None:
    command = [sys.executable, "-m", "benchmarks.login_timing", "--tries", "3", "--flood", "20"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["tries"] == 3 and report["flood"] == 20
    assert report["unknown_name_ms"]["median"] > 0 and report["wrong_password_ms"]["median"] > 0
    assert report["login_during_flood_ms"] > 0
