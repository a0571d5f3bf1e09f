"""Where a relay's CPU goes under load: `perf record` on the relay process during one measured run.

    python -m benchmarks.relay_profile --impl ours --participants 300
    python -m benchmarks.relay_profile --impl asyncio --scenario lecture --participants 401

One run of relay_bench (same load generator, same figures), with perf
sampling the relay's threads over the measured window, user and kernel
stacks alike. Stdout is one JSON document: the run's figures, the share of
samples per binary (kernel, libpython, ...), the share inside each system
kind of kernel work (children included: the TCP send's share holds the
loopback delivery to the receiver, which the kernel does inside the
sender's call), and the hottest functions.
This is what says whether a faster relay is a matter of Python or of system
calls. Needs `perf` (Debian's linux-perf) and root or perf_event_paranoid <= 1.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.pingpong import BenchmarkError, log
from benchmarks.relay_bench import raise_fd_limit
from benchmarks.relay_clips import CODECS, encode_clips
from benchmarks.relay_run import SCENARIOS, RunSettings, measure
from benchmarks.relay_servers import IMPLS, Impl

PERF_STOP_TIMEOUT = 60.0  # perf writes its file after the signal; with call graphs that takes a while
# Kernel functions whose inclusive share is reported, by what they stand for. Named below the system
# call, so that send, sendmsg and write (libuv's choice) all count as a TCP send.
KERNEL_PARTS = {"tcp_sendmsg": "tcp_send", "tcp_recvmsg": "tcp_recv", "do_epoll_wait": "epoll_wait",
                "do_epoll_ctl": "epoll_ctl", "do_futex": "futex"}
SOFTIRQ = "net_rx_action"  # loopback: the receiving half of TCP runs here, mostly inside the sender's sendto


@contextmanager
def perf_record(pid: int, data: Path, frequency: int, recorded: dict[str, int]) -> Iterator[None]:
    """Sample `pid` (all its threads) with call graphs until the block ends; the count goes to `recorded`."""
    proc = subprocess.Popen(["perf", "record", "-F", str(frequency), "-g", "-p", str(pid), "-o", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=PERF_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise BenchmarkError("perf record did not stop") from None
    said = stderr.decode(errors="replace")
    count = re.search(r"\((\d+) samples\)", said)  # "[ perf record: Captured and wrote ... (6509 samples) ]"
    if count is None or not data.exists():
        raise BenchmarkError(f"perf record wrote nothing: {said[-500:]}")
    recorded["samples"] = int(count.group(1))


def perf_table(data: Path, *options: str) -> list[list[str]]:
    """`perf report` as rows of fields (percentages without the % sign, then the name)."""
    result = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "-g", "none", "-t", "|", *options],
                            capture_output=True, text=True, check=True)
    rows = []
    for line in result.stdout.splitlines():
        if line.startswith("#") or "|" not in line:
            continue
        rows.append([field.strip().rstrip("%") for field in line.split("|")])
    return rows


def summarise(data: Path, top: int) -> dict[str, Any]:
    """Shares of the relay's samples, in percent."""
    by_object = {name: float(pct) for pct, name in perf_table(data, "--no-children", "--sort", "dso")}
    inclusive = {name.split("] ", 1)[-1]: float(total)
                 for total, _self, name in perf_table(data, "--children", "--sort", "sym")}
    hottest = [[name.split("] ", 1)[-1], float(pct)]
               for pct, name in perf_table(data, "--no-children", "--sort", "sym")[:top]]
    return {"by_object_pct": by_object,
            "kernel_pct": by_object.get("[kernel.kallsyms]", 0.0),
            "kernel_parts_pct": {label: inclusive.get(symbol, 0.0) for symbol, label in KERNEL_PARTS.items()},
            "softirq_pct": inclusive.get(SOFTIRQ, 0.0),
            "hottest_self_pct": hottest}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="perf profile of one relay under relay_bench's load")
    parser.add_argument("--impl", choices=IMPLS, default="ours")
    parser.add_argument("--threads", type=int, default=1, help="ours' loop threads (default 1)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="rooms5")
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured (and sampled) seconds")
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--codec", choices=sorted(CODECS), default="jpeg")
    parser.add_argument("--frequency", type=int, default=999, help="samples per second (default 999)")
    parser.add_argument("--top", type=int, default=15, help="hottest functions listed (default 15)")
    parser.add_argument("--keep", type=Path, help="also keep perf.data here, for `perf report -i`")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("perf") is None:
        log("relay_profile: perf is not installed (Debian package linux-perf; scripts/setup.sh installs it)")
        return 1
    raise_fd_limit()
    impl = Impl(args.impl, args.threads if args.impl == "ours" else 1)
    with tempfile.TemporaryDirectory(prefix="relay_profile_") as workdir:
        clips = Path(workdir) / "clips.pickle"
        encode_clips(args.codec).save(clips)
        data = args.keep or Path(workdir) / "perf.data"
        settings = RunSettings(args.warmup, args.seconds, 1.0, 1, clips)
        try:
            recorded: dict[str, int] = {}
            figures = measure(impl, args.scenario, args.participants, settings,
                              lambda pid: perf_record(pid, data, args.frequency, recorded))
            profile = {**recorded, **summarise(data, args.top)}
        except (BenchmarkError, subprocess.CalledProcessError) as exc:
            log(f"relay_profile: {exc}")
            return 1
    print(json.dumps({"impl": impl.name, "threads": impl.threads, "scenario": args.scenario,
                      "participants": args.participants, "figures": figures, "perf": profile}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
