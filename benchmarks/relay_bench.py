"""Relay capacity: ours (1, 2, 4 loop threads) against the asyncio and uvloop relays, and iperf3.

For each scenario and implementation the number of participants rises step
by step until the median run has a p99 server-added latency above the limit
(10 ms) or drops frames; the largest count that passed is the capacity. Each
point is the median of --repeats runs, implementations interleaved, each run
on a fresh relay driven by separate load-generator processes (relay_load.py).

    python -m benchmarks.relay_bench --quick
    python -m benchmarks.relay_bench --png > docs/benchmarks/relay_bench.json

Stdout is exactly one JSON document {"rows", "capacity", "ratios", "iperf3_mb_s",
"settings"}; progress and a capacity table go to stderr. Exits 1 if any run failed.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.pingpong import ROOT, BenchmarkError, Target, log, parse_ints
from benchmarks.pingpong import measure as pingpong_measure
from benchmarks.relay_clips import CODECS, encode_clips
from benchmarks.relay_run import SCENARIOS, RunSettings, measure
from benchmarks.relay_servers import IMPLS, Impl

DEFAULT_PNG = ROOT / "docs" / "benchmarks" / "relay_p99.png"
# Chosen so that a full run takes about 30 minutes on the 2-core machine: below the first step
# everything passes, and the last is beyond every relay's capacity there (see docs/benchmarks/).
FULL_STEPS = {"rooms5": [100, 200, 250, 300, 350, 400, 450, 500], "room25": [25, 35, 45, 55, 65, 75],
              "lecture": [201, 401, 501, 601, 801]}
QUICK_STEPS = {"rooms5": [20, 60, 100]}
METRICS = ("frames_s", "mb_s", "p50_ms", "p95_ms", "p99_ms", "p999_ms", "drops", "stalls", "cpu_pct",
           "cpu_sys_pct", "rss_mb", "gen_cpu_pct", "gen_sys_pct", "gen_late_pct")
IPERF3_BLOCK = 128 * 1024


def median_row(impl: Impl, scenario: str, participants: int, samples: list[dict[str, Any]],
               failed: int) -> dict[str, Any]:
    """Each figure's median over the runs (a run where nothing arrived has no latency: it counts as worst)."""
    row: dict[str, Any] = {"impl": impl.name, "threads": impl.threads, "tls": impl.tls, "scenario": scenario,
                           "participants": participants}
    for key in METRICS:
        values = [sample[key] for sample in samples]
        row[key] = None if None in values else statistics.median(values)
    row.update(runs=len(samples), failed_runs=failed)
    return row


def passes(row: dict[str, Any], limit_ms: float) -> bool:
    return not row["failed_runs"] and row["p99_ms"] is not None and row["p99_ms"] <= limit_ms \
        and row["drops"] <= 0


def sweep(scenario: str, impls: list[Impl], steps: list[int], settings: RunSettings, repeats: int,
          limit_ms: float) -> tuple[list[dict[str, Any]], dict[str, dict[str, int | None]], int]:
    """Rows, capacity per implementation, and failed runs, for one scenario.

    An implementation leaves the sweep at its first failing step; the order of
    the others rotates from run to run, so none always runs first after a change.
    """
    rows, failures = [], 0
    capacity: dict[str, dict[str, int | None]] = {impl.label: {"participants": 0, "failed_at": None}
                                                  for impl in impls}
    alive = list(impls)
    for index, participants in enumerate(steps):
        samples: dict[Impl, list[dict[str, Any]]] = {impl: [] for impl in alive}
        failed = dict.fromkeys(alive, 0)
        for round_ in range(repeats):
            shift = (index * repeats + round_) % len(alive)
            for impl in alive[shift:] + alive[:shift]:
                where = f"{scenario} x{participants}, {impl.label}, run {round_ + 1}/{repeats}"
                began = time.monotonic()
                try:
                    samples[impl].append(measure(impl, scenario, participants, settings))
                except BenchmarkError as exc:
                    failures += 1
                    failed[impl] += 1
                    log(f"{where}: FAILED: {exc}")
                    continue
                log(f"{where}: {_brief(samples[impl][-1])} ({time.monotonic() - began:.0f} s)")
        for impl in list(alive):
            row = None
            if samples[impl]:
                row = median_row(impl, scenario, participants, samples[impl], failed[impl])
                rows.append(row)
            if row is not None and passes(row, limit_ms):
                capacity[impl.label]["participants"] = participants
            else:
                capacity[impl.label]["failed_at"] = participants
                alive.remove(impl)
        if not alive:
            break
    return rows, capacity, failures


def _brief(sample: dict[str, Any]) -> str:
    return (f"p50 {sample['p50_ms']} p99 {sample['p99_ms']} ms, drops {sample['drops']}, "
            f"{sample['frames_s']:.0f} frames/s, {sample['mb_s']:.1f} MB/s, "
            f"relay CPU {sample['cpu_pct']:.0f}% ({sample['cpu_sys_pct']:.0f}% system), "
            f"generator CPU {sample['gen_cpu_pct']:.0f}% ({sample['gen_sys_pct']:.0f}% system)")


def ratios(capacity: dict[str, dict[str, dict[str, int | None]]]) -> dict[str, dict[str, float | None]]:
    """Per scenario: ours in clear (best thread count) over each baseline's capacity; and each of ours
    over TLS over the same in clear (what TLS leaves of the capacity)."""
    result: dict[str, dict[str, float | None]] = {}
    for scenario, by_impl in capacity.items():
        ours = [entry["participants"] for label, entry in by_impl.items()
                if label.startswith("ours") and not label.endswith("+TLS")]
        result[scenario] = {f"ours/{base}": round(max(ours) / by_impl[base]["participants"], 2)
                            if by_impl[base]["participants"] else None
                            for base in ("asyncio", "uvloop") if ours and base in by_impl}
        for label, entry in by_impl.items():
            clear = by_impl.get(label.removesuffix(" +TLS"))
            if label.endswith("+TLS") and clear is not None:
                result[scenario][f"{label}/clear"] = (round(entry["participants"] / clear["participants"], 2)
                                                      if clear["participants"] else None)
    return result


def iperf3_mb_s(seconds: float) -> float | None:
    """One TCP stream over loopback: the ceiling for bytes per second on this machine."""
    if seconds <= 0:
        return None
    try:
        return round(pingpong_measure(Target("iperf3", None), IPERF3_BLOCK, 1, 0.0, seconds) / 1e6, 1)
    except (BenchmarkError, OSError) as exc:
        log(f"iperf3 failed: {exc}")
        return None


def log_capacity(capacity: dict[str, dict[str, dict[str, int | None]]], result_ratios: dict) -> None:
    log("\ncapacity (participants; '>=' where the sweep ended before a failure):")
    for scenario, by_impl in capacity.items():
        cells = [f"{label} {'' if entry['failed_at'] else '>='}{entry['participants']}"
                 for label, entry in by_impl.items()]
        shares = [f"{name} {value}" for name, value in result_ratios.get(scenario, {}).items()]
        log(f"  {scenario:>8}: {', '.join(cells)} | {', '.join(shares)}")


def draw_png(rows: list[dict[str, Any]], path: Path, limit_ms: float) -> None:
    """p99 against participants, one subplot per scenario, one line per implementation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(row["scenario"] for row in rows))
    fig, axes = plt.subplots(1, len(scenarios), figsize=(5 * len(scenarios), 4.5), squeeze=False)
    for ax, scenario in zip(axes[0], scenarios, strict=True):
        at = [row for row in rows if row["scenario"] == scenario and row["p99_ms"] is not None]
        for label in dict.fromkeys(Impl(row["impl"], row["threads"], row["tls"]).label for row in at):
            points = [(row["participants"], row["p99_ms"]) for row in at
                      if Impl(row["impl"], row["threads"], row["tls"]).label == label]
            ax.plot(*zip(*points, strict=True), "o-", label=label)
        ax.axhline(limit_ms, color="grey", linestyle="--", linewidth=1)
        ax.set_yscale("log")
        ax.set_title(scenario)
        ax.set_xlabel("participants")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    axes[0][0].set_ylabel("p99 server-added latency (ms, median of runs)")
    fig.suptitle("relay on loopback: p99 latency against load (dashed: the limit)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="relay capacity: ours vs asyncio and uvloop relays")
    parser.add_argument("--quick", action="store_true",
                        help="rooms of 5 at 20, 60 and 100 participants, ours x1 and asyncio, one run each")
    parser.add_argument("--scenarios", help=f"subset of {','.join(SCENARIOS)} (default all; quick: rooms5)")
    parser.add_argument("--impls", help=f"subset of {','.join(IMPLS)} (default all; quick: ours,asyncio)")
    parser.add_argument("--threads", type=parse_ints, help="ours' loop threads (default 1,2,4; quick: 1)")
    for scenario in SCENARIOS:
        parser.add_argument(f"--steps-{scenario}", type=parse_ints, metavar="N,N,...",
                            help=f"participant counts (default {','.join(map(str, FULL_STEPS[scenario]))})")
    parser.add_argument("--seconds", type=float, help="measured seconds per run (default 3; quick: 2)")
    parser.add_argument("--warmup", type=float,
                        help="seconds of load before measuring (default 1.5; quick: 1)")
    parser.add_argument("--drain", type=float, default=1.0,
                        help="seconds to wait for frames still in flight after the window (default 1)")
    parser.add_argument("--repeats", type=int, help="runs per point; rows give medians (default 3; quick: 1)")
    parser.add_argument("--load-procs", type=int, default=1, choices=(1, 2),
                        help="load-generator processes (at most one per core; default 1)")
    parser.add_argument("--codec", choices=sorted(CODECS), default="jpeg", help="video codec (default jpeg)")
    parser.add_argument("--max-p99-ms", type=float, default=10.0, help="the latency limit (default 10)")
    parser.add_argument("--iperf3-seconds", type=float,
                        help="iperf3 duration, 0 skips it (default 3; quick: 1)")
    parser.add_argument("--tls", choices=("off", "on", "both"), default="off",
                        help="ours in clear (default), over TLS, or both side by side (baselines: clear)")
    parser.add_argument("--png", type=Path, nargs="?", const=DEFAULT_PNG,
                        help=f"draw p99 against participants (default path {DEFAULT_PNG.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    quick = args.quick
    args.scenarios = _choose(parser, args.scenarios, "rooms5" if quick else ",".join(SCENARIOS), SCENARIOS)
    args.impls = _choose(parser, args.impls, "ours,asyncio" if quick else ",".join(IMPLS), IMPLS)
    args.threads = args.threads or ([1] if quick else [1, 2, 4])
    args.steps = {scenario: getattr(args, f"steps_{scenario}")
                  or (QUICK_STEPS if quick else FULL_STEPS).get(scenario, FULL_STEPS[scenario])
                  for scenario in args.scenarios}
    args.seconds = args.seconds or (2.0 if quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 1.5)
    args.repeats = args.repeats or (1 if quick else 3)
    args.iperf3_seconds = args.iperf3_seconds if args.iperf3_seconds is not None else (1.0 if quick else 3.0)
    if any(n % 5 for n in args.steps.get("rooms5", [])):
        parser.error("--steps-rooms5 must be multiples of 5")
    if any(n < 2 for steps in args.steps.values() for n in steps):
        parser.error("every step needs at least 2 participants")
    return args


def _choose(parser: argparse.ArgumentParser, text: str | None, default: str,
            known: tuple[str, ...]) -> list[str]:
    chosen = [item.strip() for item in (text or default).split(",")]
    unknown = set(chosen) - set(known)
    if unknown:
        parser.error(f"unknown {sorted(unknown)}; choose from {','.join(known)}")
    return chosen


def make_impls(names: list[str], threads: list[int], tls: str = "off") -> list[Impl]:
    modes = {"off": [False], "on": [True], "both": [False, True]}[tls]
    impls = []
    for name in names:
        if name == "ours":
            impls += [Impl("ours", count, secure) for secure in modes for count in threads]
        else:
            impls.append(Impl(name))
    return impls


def raise_fd_limit() -> None:
    """Three sockets per participant on each side; the relays and generators inherit this."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 16384 if hard == resource.RLIM_INFINITY else min(16384, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def to_json(document: dict[str, Any]) -> str:
    """The document with one row per line, readable in a diff."""
    rest = json.dumps({key: value for key, value in document.items() if key != "rows"}, indent=1)
    rows = ",\n  ".join(json.dumps(row) for row in document["rows"])
    return '{"rows": [\n  ' + rows + "\n ]," + rest[1:]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    impls = make_impls(args.impls, args.threads, args.tls)
    iperf3 = iperf3_mb_s(args.iperf3_seconds)
    log(f"iperf3 on loopback: {iperf3} MB/s")
    rows, capacity, failures = [], {}, 0
    with tempfile.TemporaryDirectory(prefix="relay_bench_") as workdir:
        clips_path = Path(workdir) / "clips.pickle"
        encode_clips(args.codec).save(clips_path)
        settings = RunSettings(args.warmup, args.seconds, args.drain, args.load_procs, clips_path)
        for scenario in args.scenarios:
            scenario_rows, capacity[scenario], failed = sweep(scenario, impls, args.steps[scenario], settings,
                                                              args.repeats, args.max_p99_ms)
            rows += scenario_rows
            failures += failed
    result_ratios = ratios(capacity)
    settings_json = {"seconds": args.seconds, "warmup": args.warmup, "drain": args.drain,
                     "repeats": args.repeats, "load_procs": args.load_procs, "codec": args.codec,
                     "max_p99_ms": args.max_p99_ms, "steps": args.steps, "tls": args.tls}
    print(to_json({"rows": rows, "capacity": capacity, "ratios": result_ratios, "iperf3_mb_s": iperf3,
                   "settings": settings_json}), flush=True)
    log_capacity(capacity, result_ratios)
    if args.png and rows:
        draw_png(rows, args.png, args.max_p99_ms)
        log(f"wrote {args.png}")
    if failures:
        log(f"{failures} run(s) failed; see FAILED above")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
