#!/usr/bin/env python3
"""Speed of archsim's `systolic` model against SCALE-Sim 3.0.0 on full ResNet-18, 32x32 WS array.

Both tools get the same inputs: tools/scalesim_golden/topologies/resnet18.csv (21 layers) and the
.cfg recorded in tests/golden/scalesim/resnet18_ws_32x32.json (32x32 WS, 64 KB SRAMs, CALC).

archsim is timed end to end as a user runs it (parse the CSV and the .cfg, build the trace and the
hardware, simulate, price), median of --repeat runs, and its cycle-math core alone (all 21 layers
at once, vectorised numpy). SCALE-Sim is timed

* with ``--run-scalesim``: run now, in a child process with SCALE-Sim's own Python (default
  /tmp/venv-scalesim/bin/python, see tools/scalesim_golden/make_golden.py for that environment),
  through its Python API with traces off; CPU time (user + sys) of the child;
* otherwise: the CPU time recorded in the golden file when it was made (same machine, earlier run).

The per-layer cycle counts of the two are compared (they must be identical) and the ratio of
CPU times is printed. Speed is measured here, never asserted in a test.

    .venv/bin/python benchmarks/bench_systolic_vs_scalesim.py [--run-scalesim] [--repeat 20]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests/golden/scalesim/resnet18_ws_32x32.json"
TOPOLOGY = REPO / "tools/scalesim_golden/topologies/resnet18.csv"
MAKE_GOLDEN = REPO / "tools/scalesim_golden/make_golden.py"


def run_archsim(cfg_path: Path, workdir: Path):
    """Parse, build, simulate, price: what `archsim simulate` does with a CSV and an imported .cfg."""
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.importers.scalesim import (config_to_hardware_yaml, default_energy_table, read_config,
                                            read_topology, topology_to_trace)

    hw_path = workdir / "resnet18_ws_32x32.yaml"
    hw_path.write_text(config_to_hardware_yaml(read_config(cfg_path), hw_path, energy_table=default_energy_table()))
    trace = topology_to_trace(read_topology(TOPOLOGY))
    return simulate(trace, load_hardware(hw_path))


def time_it(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        cpus.append(time.process_time() - c0)
        walls.append(time.perf_counter() - w0)
    return statistics.median(walls), statistics.median(cpus), out


def run_scalesim(python: str, cfg_path: Path, workdir: Path) -> tuple[float, float, list[int]]:
    """SCALE-Sim in a child process (its own environment); (wall s, CPU s, per-layer cycles)."""
    import csv
    layout = workdir / "layout_unused.csv"
    layout.write_text("Layer name, (custom layouts off),\n")
    out = workdir / "scalesim_out"
    out.mkdir(exist_ok=True)
    cmd = [python, str(MAKE_GOLDEN), "--child", str(cfg_path), str(TOPOLOGY), str(layout), "0", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"SCALE-Sim failed: {proc.stderr.read().decode()[-2000:]}")
    report = next(out.rglob("COMPUTE_REPORT.csv"))
    with open(report) as f:
        rows = list(csv.reader(f))
    col = [h.strip() for h in rows[0]].index("Total Cycles")
    return wall, usage.ru_utime + usage.ru_stime, [int(r[col]) for r in rows[1:] if r and r[0].strip()]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run-scalesim", action="store_true", help="run SCALE-Sim now instead of using the recorded time")
    ap.add_argument("--scalesim-python", default="/tmp/venv-scalesim/bin/python")
    ap.add_argument("--repeat", type=int, default=20, help="archsim runs to take the median of")
    a = ap.parse_args(argv)

    golden = json.loads(GOLDEN.read_text())
    header = golden["header"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cfg_path = tmp / "resnet18_ws_32x32.cfg"
        cfg_path.write_text(header["cfg_text"])

        import numpy as np

        from archsim.arch.systolic_math import gemm_costs
        run_archsim(cfg_path, tmp)                                  # warm up imports
        wall, cpu, result = time_it(lambda: run_archsim(cfg_path, tmp), a.repeat)
        ours = [int(c) for c in result.ops["compute_cycles"]]

        from archsim.importers.scalesim import read_topology, topology_to_trace
        gemms = [op.gemm for op in topology_to_trace(read_topology(TOPOLOGY)).ops]
        M, K, N = (np.array([getattr(g, d) for g in gemms]) for d in "MKN")
        core_wall, core_cpu, core = time_it(lambda: gemm_costs("ws", 32, 32, M, K, N), max(a.repeat, 200))
        assert [int(c) for c in core["cycles"]] == ours

        if a.run_scalesim:
            if not Path(a.scalesim_python).exists():
                raise SystemExit(f"{a.scalesim_python} not found: create SCALE-Sim's environment "
                                 "(tools/scalesim_golden/make_golden.py) or drop --run-scalesim")
            ss_wall, ss_cpu, theirs = run_scalesim(a.scalesim_python, cfg_path, tmp)
            source = f"run now with {a.scalesim_python}"
        else:
            ss_wall, ss_cpu = header["run_wall_s"], header["run_cpu_s"]
            theirs = [layer["compute_report"]["Total Cycles"] for layer in golden["layers"]]
            source = f"recorded in {GOLDEN.relative_to(REPO)} ({header['date_utc']}, same machine)"

    identical = ours == theirs
    print(f"ResNet-18 (21 layers), 32x32 WS array, SCALE-Sim {header['scalesim_version']} vs archsim")
    print(f"  SCALE-Sim            wall {ss_wall:10.1f} s   CPU {ss_cpu:10.1f} s   ({source})")
    print(f"  archsim end to end   wall {wall * 1e3:10.2f} ms  CPU {cpu * 1e3:10.2f} ms  (median of {a.repeat}: "
          "parse CSV + .cfg, simulate, price)")
    print(f"  archsim cycle core   wall {core_wall * 1e6:10.1f} us  CPU {core_cpu * 1e6:10.1f} us  "
          "(gemm_costs over all layers)")
    print(f"  total cycles: SCALE-Sim {sum(theirs):,}  archsim {sum(ours):,}  per-layer identical: "
          f"{'yes' if identical else 'NO'}")
    print(f"  speed-up (CPU time): end to end {ss_cpu / cpu:,.0f}x, cycle core {ss_cpu / core_cpu:,.0f}x")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
