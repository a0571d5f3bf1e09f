"""One measured run of relay_bench: a fresh relay, the load generators on it, and what they saw.

The generators are separate processes (relay_load.py); this process only
coordinates them, samples CPU from /proc at the edges of the measured window,
and merges their latencies.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks.pingpong import ROOT, BenchmarkError
from benchmarks.relay_servers import (
    STOP_TIMEOUT,
    Impl,
    RelayProcess,
    cpu_seconds,
    file_tail,
    peak_rss_mib,
    running_relay,
    stop_process,
)

SCENARIOS = ("rooms5", "room25", "lecture")
SETUP_TIMEOUT = 240.0  # argon2 for hundreds of accounts, and a big room's member lists
GO_DELAY = 0.3  # time for the `go` line to reach every generator before T0
RESULT_SLACK = 30.0


@dataclass(frozen=True)
class RunSettings:
    warmup: float
    seconds: float
    drain: float
    load_procs: int
    clips: Path


def plans(scenario: str, participants: int, procs: int) -> list[dict[str, Any]]:
    """The rooms each load process plays. Rooms of 5 never straddle processes; the one big room of
    the other scenarios is opened by process 0 (the lecturer's) and joined by the others by id."""
    if scenario == "rooms5":
        if participants % 5:
            raise ValueError(f"rooms5 needs a multiple of 5 participants, not {participants}")
        per_proc: list[list[dict[str, Any]]] = [[] for _ in range(procs)]
        for index in range(participants // 5):
            per_proc[index % procs].append({"key": f"r{index}", "create": True, "senders": 5, "listeners": 0,
                                            "fanout": 4})
        return [{"rooms": rooms} for rooms in per_proc if rooms]
    if participants < 2:
        raise ValueError(f"{scenario} needs at least 2 participants")
    shares = [participants // procs + (index < participants % procs) for index in range(procs)]
    result = []
    for index, share in enumerate(share for share in shares if share):
        senders = share if scenario == "room25" else int(index == 0)
        result.append({"rooms": [{"key": "r0", "create": index == 0, "senders": senders,
                                  "listeners": share - senders, "fanout": participants - 1}]})
    return result


class LoadProcess:
    """A relay_load.py process and the line protocol relay_bench speaks with it."""

    def __init__(self, port: int, plan: dict[str, Any], settings: RunSettings, latencies: Path, tag: str,
                 stderr: IO[bytes], tls: bool = False) -> None:
        self.latencies = latencies
        self.stderr = stderr
        command = [sys.executable, "-m", "benchmarks.relay_load", "--port", str(port),
                   "--plan", json.dumps(plan), "--clips", str(settings.clips), "--latencies", str(latencies),
                   "--tag", tag, "--warmup", str(settings.warmup), "--seconds", str(settings.seconds),
                   "--drain", str(settings.drain), *(["--tls"] if tls else [])]
        # Unbuffered pipes: a line is read only after select says it is there.
        self.proc = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=stderr, bufsize=0)

    def close(self) -> None:
        """End of input tells the generator to hang up and exit; one that does not is stopped."""
        self.proc.stdin.close()
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop_process(self.proc, "load generator")
        self.proc.stdout.close()

    def send(self, word: str, value: Any) -> None:
        self.proc.stdin.write(f"{word} {json.dumps(value)}\n".encode())

    def expect(self, word: str, timeout: float) -> Any:
        """The value on the generator's next line, which must start with `word`."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline().decode() if ready else ""
        head, _, rest = line.strip().partition(" ")
        if head != word:
            self.proc.poll()
            raise BenchmarkError(f"load generator: wanted {word!r}, got {line[:200]!r} (status "
                                 f"{self.proc.returncode}); stderr:\n{file_tail(self.stderr)}")
        return json.loads(rest) if rest else None


# Given the relay's pid, a context manager entered for the measured window (a profiler, say).
WindowObserver = Callable[[int], AbstractContextManager[Any]]


def measure(impl: Impl, scenario: str, participants: int, settings: RunSettings,
            observer: WindowObserver | None = None) -> dict[str, Any]:
    """One run's figures, on a fresh relay and fresh generators."""
    with ExitStack() as stack:
        relay = stack.enter_context(running_relay(impl, max_room_size=max(100, participants)))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="relay_bench_run_")))
        gens = []
        for index, plan in enumerate(plans(scenario, participants, settings.load_procs)):
            stderr = stack.enter_context(tempfile.TemporaryFile())
            gen = LoadProcess(relay.port, plan, settings, workdir / f"latencies{index}", f"p{index}", stderr,
                              impl.tls)
            stack.callback(gen.close)
            gens.append(gen)
        cpu, results = _drive(relay, gens, settings, observer)
        relay.check_alive()
        rss = peak_rss_mib(relay.proc.pid)
        # Stopped while every participant is still connected: a relay that is left by hundreds of
        # people at once would spend seconds telling the rest, which is no part of the measurement.
        stop_process(relay.proc, impl.label)
        latencies = sorted(value for gen in gens for value in _read_latencies(gen.latencies))
    return _figures(results, latencies, cpu, rss, settings.seconds)


def _drive(relay: RelayProcess, gens: list[LoadProcess], settings: RunSettings,
           observer: WindowObserver | None) -> tuple[dict[str, tuple[float, float]], list[dict[str, int]]]:
    """Rooms, ready, go; CPU of the relay and of the generators over the measured window; results."""
    room_ids: dict[str, str] = {}
    for gen in gens:
        room_ids.update(gen.expect("rooms", SETUP_TIMEOUT))
    for gen in gens:
        gen.send("rooms", room_ids)
    for gen in gens:
        gen.expect("ready", SETUP_TIMEOUT)
    start = time.time() + GO_DELAY
    for gen in gens:
        gen.send("go", start)
    pids = {"relay": relay.proc.pid, **{f"gen{i}": gen.proc.pid for i, gen in enumerate(gens)}}
    time.sleep(max(0.0, start + settings.warmup - time.time()))
    with observer(relay.proc.pid) if observer else nullcontext():
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        time.sleep(max(0.0, start + settings.warmup + settings.seconds - time.time()))
        relay.check_alive()
        after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    used = {name: (after[name][0] - before[name][0], after[name][1] - before[name][1]) for name in pids}
    by_gens = [used[name] for name in pids if name != "relay"]
    cpu = {"relay": used["relay"], "gens": (sum(u for u, _ in by_gens), sum(s for _, s in by_gens))}
    results = [gen.expect("result", settings.drain + RESULT_SLACK) for gen in gens]
    return cpu, results


def _read_latencies(path: Path) -> array:
    values = array("q")
    values.frombytes(path.read_bytes())
    return values


def percentile_ms(ordered: list[int], q: float) -> float | None:
    """Nearest-rank percentile of sorted microseconds, in ms; None when nothing arrived."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000, 3)


def _figures(results: list[dict[str, int]], latencies: list[int], cpu: dict[str, tuple[float, float]],
             rss: float, seconds: float) -> dict[str, Any]:
    total = {key: sum(result[key] for result in results) for key in results[0]}
    return {"frames_s": round(total["delivered"] / seconds, 1),
            "mb_s": round(total["bytes"] / seconds / 1e6, 2),
            "p50_ms": percentile_ms(latencies, 0.50), "p95_ms": percentile_ms(latencies, 0.95),
            "p99_ms": percentile_ms(latencies, 0.99), "p999_ms": percentile_ms(latencies, 0.999),
            # Includes the stalls: frames the generator could not hand over (the relay had not read the last).
            "drops": total["expected"] - total["delivered"], "stalls": total["stalls"],
            "cpu_pct": round(100 * sum(cpu["relay"]) / seconds, 1),
            "cpu_sys_pct": round(100 * cpu["relay"][1] / seconds, 1), "rss_mb": round(rss, 1),
            "gen_cpu_pct": round(100 * sum(cpu["gens"]) / seconds, 1),
            "gen_sys_pct": round(100 * cpu["gens"][1] / seconds, 1),
            "gen_late_pct": round(100 * total["late"] / max(1, total["sent"]), 2)}
