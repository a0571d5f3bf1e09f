"""benchmarks/client_cpu.py runs and reports what it promises (a smoke run: its figures are not judged)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("Xvfb") is None,
                    reason="Xvfb not installed (scripts/setup.sh installs the xvfb package)")
def test_client_cpu_reports_both_views_with_live_tiles() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.client_cpu", "--seconds", "2", "--bots", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["participants"] == 3
    grid, speaker = report["views"]
    assert (grid["view"], speaker["view"]) == ("grid", "speaker")
    for view in (grid, speaker):
        assert view["cpu_percent"] > 0 and view["rss_mib"]["max"] > 50
        assert "receive" in view["cpu_percent_by_thread"]
    # Both others are on screen in a grid of three: their pictures are painted.
    assert len(grid["painted_per_tile_per_s"]) == 2 and min(grid["painted_per_tile_per_s"]) > 0
