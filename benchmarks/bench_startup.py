#!/usr/bin/env python3
"""Whole-process wall time of a small `archsim simulate` beside the floor any numpy + pydantic
program pays, and what the run imports.

Processes, each ``--repeat`` times, interleaved (so that machine load hits all alike), median and
minimum wall time (fork to exit):

* ``python -c pass``: the interpreter alone;
* the floor: ``python -c "import numpy, pydantic.fields, yaml"`` (the libraries a simulation
  needs; pydantic.fields pulls in what building a model needs);
* ``archsim simulate --hw hw_configs/mac_array_example.yaml --trace examples/tiny_snn.yaml``
  (writing its result folder), and ``archsim --help``.

Printed: the times, archsim's time over the floor (a ratio, independent of the machine's
speed), and the heavy packages the simulation imported (expected: none; tests/test_startup.py
checks it). Speed is measured here, never asserted in a test.

    python benchmarks/bench_startup.py [--repeat 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "networkx", "numba", "scipy", "pyarrow", "torch", "matplotlib", "tqdm", "llvmlite")


def timed(cmd, env) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=REPO)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=15)
    a = ap.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = Path(tempfile.mkdtemp(prefix="bench_startup_")) / "tiny"
    py = sys.executable
    cmds = {
        "python -c pass": [py, "-c", "pass"],
        "floor: import numpy, pydantic, yaml": [py, "-c", "import numpy, pydantic.fields, yaml"],
        "archsim --help": [py, "-m", "archsim.cli", "--help"],
        "archsim simulate tiny_snn": [py, "-m", "archsim.cli", "simulate", "--hw", "hw_configs/mac_array_example.yaml",
                                      "--trace", "examples/tiny_snn.yaml", "-o", str(out), "--quiet"],
    }
    times: dict[str, list[float]] = {k: [] for k in cmds}
    for cmd in cmds.values():
        timed(cmd, env)                       # warm the file cache (not timed)
    for _ in range(a.repeat):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd, env))
    for name, t in times.items():
        print(f"{name:<38} median {statistics.median(t):.3f} s   min {min(t):.3f} s")
    sim, floor = times["archsim simulate tiny_snn"], times["floor: import numpy, pydantic, yaml"]
    print(f"archsim simulate / floor: median {statistics.median(sim) / statistics.median(floor):.2f}x, "
          f"min {min(sim) / min(floor):.2f}x")
    probe = ("import sys\n"
             "from archsim.cli import main\nmain(sys.argv[1:])\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    got = subprocess.run([py, "-c", probe, *cmds["archsim simulate tiny_snn"][3:]], capture_output=True, text=True,
                         env=env, cwd=REPO, check=True).stdout.strip().splitlines()[-1]
    print(f"heavy packages imported by the simulation: {got}")
    try:
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} at the end")
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
