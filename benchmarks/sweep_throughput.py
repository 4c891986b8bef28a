"""Sweep throughput: design points per second on one worker, on a local pool of two, and on a
Dask LocalCluster of two, for any hardware model (a measurement, not a test).

    python benchmarks/sweep_throughput.py                       # the example MAC array
    python benchmarks/sweep_throughput.py \\
        --case imc  hw_configs/<crossbar design>.yaml <trace> \\
        --case loas hw_configs/<loas design>.yaml <trace> --points 100 --out benchmarks/results/sweep.md

Each case sweeps ``clock_mhz`` over ``--points`` distinct values (every model has a clock, and
every point is a full simulation of the trace); the spec is checked once (``make_plan``) and
each configuration runs the sweep ``--repeat`` times into fresh directories. Reported: median
points per second, the speed-up of two workers over one, and the time the Dask path needs
over the local pool for the same sweep (cluster start-up reported separately).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_spec(folder: Path, hw: Path, trace: Path, points: int) -> Path:
    spec = folder / "bench.yaml"
    spec.write_text(f"name: bench\nhardware: '{hw.resolve()}'\ntraces: ['{trace.resolve()}']\n"
                    f"sweep:\n  grid:\n    clock_mhz: {{range: [100, {100 + points - 1}], step: 1}}\n")
    return spec


def timed_runs(plan, folder: Path, repeat: int, **kwargs) -> list[float]:
    from archsim.sweep.runner import run_sweep

    times = []
    for i in range(repeat):
        out = folder / f"{kwargs.get('executor', 'local')}-{kwargs.get('jobs')}-{i}-{time.monotonic_ns()}"
        start = time.perf_counter()
        outcome = run_sweep(plan.loaded, out, plan=plan, **kwargs)
        times.append(time.perf_counter() - start)
        assert outcome.computed == len(plan.tasks) and outcome.failed == 0, outcome
    return times


def bench_case(label: str, hw: Path, trace: Path, points: int, repeat: int, dask: bool) -> dict:
    from archsim.sweep.plan import make_plan

    with tempfile.TemporaryDirectory(prefix="archsim-bench-") as tmp:
        folder = Path(tmp)
        spec = write_spec(folder, hw, trace, points)
        start = time.perf_counter()
        plan = make_plan(spec)
        plan_s = time.perf_counter() - start
        row = {"case": label, "points": points, "plan_s": plan_s,
               "one": statistics.median(timed_runs(plan, folder, repeat, jobs=1)),
               "pool2": statistics.median(timed_runs(plan, folder, repeat, jobs=2))}
        if dask:
            import logging

            from distributed import Client, LocalCluster

            from archsim.sweep.executors import DaskExecutor
            start = time.perf_counter()
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
                client.wait_for_workers(2)
                row["dask_start_s"] = time.perf_counter() - start
                times = []
                for _ in range(repeat):
                    times += timed_runs(plan, folder, 1, executor=DaskExecutor(client=client))
                row["dask2"] = statistics.median(times)
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| case | points | check (ms/point) | 1 worker (points/s) | pool of 2 (points/s) | speed-up | "
             "Dask 2 workers (points/s) | Dask / pool time | Dask cluster start (s) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n = r["points"]
        dask = (f"{n / r['dask2']:.0f} | {r['dask2'] / r['pool2']:.2f} | {r['dask_start_s']:.1f}"
                if "dask2" in r else "- | - | -")
        lines.append(f"| {r['case']} | {n} | {1e3 * r['plan_s'] / n:.2f} | {n / r['one']:.0f} | {n / r['pool2']:.0f} | "
                     f"{r['one'] / r['pool2']:.2f} | {dask} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", nargs=3, action="append", metavar=("LABEL", "HW", "TRACE"),
                    help="a hardware YAML and a trace (file or layer list) to sweep; repeatable")
    ap.add_argument("--points", type=int, default=200, help="design points per sweep (default 200)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration; the median is reported")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster measurement")
    ap.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    args = ap.parse_args(argv)
    cases = args.case or [["mac_array", str(ROOT / "hw_configs/mac_array_example.yaml"),
                           str(ROOT / "examples/tiny_snn.yaml")]]
    rows = []
    for label, hw, trace in cases:
        print(f"{label}: {args.points} points x {args.repeat} repeats ...", file=sys.stderr)
        rows.append(bench_case(label, Path(hw), Path(trace), args.points, args.repeat, not args.no_dask))
    table = markdown(rows)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
