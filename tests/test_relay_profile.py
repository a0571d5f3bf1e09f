"""benchmarks/relay_profile.py runs perf on a relay under load and prints the shares it found.

Not a timed test: only that the profile was taken and has the stated shape.
Skipped where perf cannot sample other processes (not installed, or not root
with a strict perf_event_paranoid).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _perf_usable() -> bool:
    if shutil.which("perf") is None:
        return False
    paranoid = int(Path("/proc/sys/kernel/perf_event_paranoid").read_text())
    return os.geteuid() == 0 or paranoid <= 1


@pytest.mark.skipif(not _perf_usable(), reason="perf missing or not allowed to sample other processes")
def test_a_short_profile_of_our_relay_splits_kernel_and_python():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.relay_profile", "--participants", "10", "--seconds", "1",
         "--warmup", "0.3", "--top", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)

    assert (document["impl"], document["threads"], document["participants"]) == ("ours", 1, 10)
    assert document["figures"]["drops"] == 0 and document["figures"]["frames_s"] > 0
    profile = document["perf"]
    assert profile["samples"] > 0
    # Ten people sending video: the relay spends time both in the kernel and in the interpreter.
    assert profile["kernel_pct"] > 0 and any("python" in name for name in profile["by_object_pct"])
    assert profile["kernel_parts_pct"]["tcp_send"] > 0
    assert 0 < len(profile["hottest_self_pct"]) <= 5
