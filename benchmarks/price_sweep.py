"""Count once, price many: a sweep over energy-table variables, run with every point simulated
(what sweeps did before counts were kept) and with one simulation re-priced for every point
(a measurement, not a test).

    python benchmarks/price_sweep.py --full-points 10          # LoAS (cycle level) on AlexNet
    python benchmarks/price_sweep.py --points 1000 --full-points 100 \\
        --hw hw_configs/clipformer_rram_32nm.yaml --trace examples/deit_s.trace \\
        --axis energy.variables.V_READ:0.05:0.15 --out benchmarks/results/price_sweep.md

The sweep varies one energy-table variable over ``--points`` values (a grid), so every point
counts the same and only the prices differ. Times are CPU seconds of this process (everything runs
here with ``jobs=1``), so that other load on the machine does not enter the ratio. Without ``--axis`` the benchmark writes a copy of the
hardware's tables in which every action energy is multiplied by a variable ``ENERGY_SCALE`` (a
technology-scaling sweep, for tables that have no variables of their own) and sweeps it over
[0.5, 1.5]. Both runs use the same checked plan (``make_plan``,
timed separately) and one worker (``jobs=1``). The full-simulation run clears the tasks'
``count_key`` so that each point is simulated; it runs the first ``--full-points`` points
(all when equal to ``--points``) and its time per point is scaled to the whole sweep when fewer.
Reported: seconds of each run, the ratio of the run phases and the ratio end to end (plan
included). Both runs must give the same table (checked here, to 1e-12 relative).
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_spec(folder: Path, hw: Path, trace: Path, key: str, lo: float, hi: float, points: int) -> Path:
    step = (hi - lo) / (points - 1)
    values = ", ".join(repr(lo + i * step) for i in range(points))
    spec = folder / "price_bench.yaml"
    spec.write_text(f"name: price-bench\nhardware: '{hw.resolve()}'\ntraces: ['{trace.resolve()}']\n"
                    f"sweep:\n  grid:\n    {key}: [{values}]\n")
    return spec


def scaled_tables(folder: Path, hw: Path) -> Path:
    """A hardware file extending ``hw`` whose tables are copies with every action energy times
    ``${ENERGY_SCALE}`` (default 1)."""
    import yaml

    from archsim.config.hardware import load_hardware

    tables = []
    for i, (path, _) in enumerate(load_hardware(hw).table.files):
        data = yaml.safe_load(path.read_text())
        data.setdefault("variables", {})["ENERGY_SCALE"] = 1.0
        for comp in data["components"].values():
            for price in (comp.get("actions") or {}).values():
                price["energy_pj"] = f"${{({price['energy_pj']}) * ENERGY_SCALE}}"
        out = folder / f"table{i}.yaml"
        out.write_text(yaml.safe_dump(data, sort_keys=False))
        tables.append(str(out))
    scaled = folder / "hw.yaml"
    scaled.write_text(yaml.safe_dump({"extends": str(hw.resolve()), "energy": {"tables": tables}}))
    return scaled


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", default="hw_configs/loas.yaml")
    ap.add_argument("--trace", default="examples/loas_paper/alexnet.trace")
    ap.add_argument("--axis", default=None, help="KEY:LOW:HIGH (default: ENERGY_SCALE, see above)")
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--full-points", type=int, default=None, help="points simulated in the full run (default all)")
    ap.add_argument("--out", default=None, help="also write the table as Markdown here")
    args = ap.parse_args(argv)

    import pandas as pd

    from archsim.sweep.plan import make_plan
    from archsim.sweep.runner import run_sweep
    from archsim.sweep.store import load_table

    full_n = min(args.full_points or args.points, args.points)
    with tempfile.TemporaryDirectory(prefix="archsim-price-bench-") as tmp:
        folder = Path(tmp)
        hw = ROOT / args.hw
        if args.axis:
            key, lo, hi = args.axis.rsplit(":", 2)
        else:
            key, lo, hi = "energy.variables.ENERGY_SCALE", "0.5", "1.5"
            hw = scaled_tables(folder, hw)
        spec = write_spec(folder, hw, ROOT / args.trace, key, float(lo), float(hi), args.points)
        start = time.process_time()
        plan = make_plan(spec)
        plan_s = time.process_time() - start
        assert len({p.count_key for p in plan.points}) == 1, "the axis changes the counts, not only prices"

        start = time.process_time()
        priced = run_sweep(plan.loaded, folder / "priced", plan=plan, jobs=1)
        priced_s = time.process_time() - start
        assert priced.computed == args.points and priced.failed == 0

        full_plan = dataclasses.replace(plan, tasks=[dataclasses.replace(t, count_key="") for t in plan.tasks[:full_n]])
        start = time.process_time()
        full = run_sweep(plan.loaded, folder / "full", plan=full_plan, jobs=1)
        full_run_s = time.process_time() - start
        assert full.computed == full_n and full.failed == 0
        full_s = full_run_s * args.points / full_n

        a = load_table(folder / "priced").set_index("row_id")
        b = load_table(folder / "full").set_index("row_id")
        figures = ["energy_j", "latency_s", "area_mm2", "edap_j_s_mm2", "cycles"]
        both = b.index
        pd.testing.assert_frame_equal(a.loc[both, figures], b.loc[both, figures], rtol=1e-12, check_exact=False)

    rows = [("design points", f"{args.points}"),
            ("plan (check every point), CPU s", f"{plan_s:.2f}"),
            ("price-only sweep, CPU s", f"{priced_s:.2f}"),
            (f"full-simulation sweep, CPU s{' (scaled from %d points)' % full_n if full_n < args.points else ''}",
             f"{full_s:.2f}"),
            ("speed-up, run phase", f"{full_s / priced_s:.1f}x"),
            ("speed-up, plan included", f"{(plan_s + full_s) / (plan_s + priced_s):.1f}x")]
    text = (f"price-only sweep over `{key}` in [{lo}, {hi}], {args.trace} on {args.hw}, one worker\n\n"
            "| quantity | value |\n|---|---|\n" + "\n".join(f"| {q} | {v} |" for q, v in rows) + "\n")
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
