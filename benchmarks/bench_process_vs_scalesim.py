#!/usr/bin/env python3
"""Whole-process speed of `archsim simulate` against SCALE-Sim 3.0.0 on small harness cases.

Users run both tools as processes, so start-up counts. Cases: the first ``--cases`` configurations
of tools/scalesim_golden/random_goldens.json (small random configurations: CALC and USER modes,
all dataflows, conv and GEMM topologies). Per case, side by side in one run, ``--repeat`` times
(interleaved, so that machine load hits both alike):

* SCALE-Sim: a fresh process of SCALE-Sim's own Python (``--scalesim-python``, the throw-away
  environment of tools/scalesim_golden/run_random.py) that imports scalesim and runs the case
  through its Python API with traces off;
* archsim: a fresh ``python -m archsim.cli simulate --hw <imported .yaml> --trace <topology.csv>``
  process (the hardware YAML is imported once beforehand with ``archsim import scalesim``,
  ``dram_model: scalesim``; the CSV is read directly).

``--set networks`` takes instead the fixed cases of tests/golden/scalesim/ whose SCALE-Sim run is
small enough to repeat (the mobilenet_small and transformer_gemm topologies, 3 dataflows x 2
arrays: 12 cases; ResNet-18's take minutes to hours in SCALE-Sim). ``--scalesim-cli`` runs
SCALE-Sim as its command line does (``python -m scalesim.scale -c CFG -t TOPO -l LAYOUT -p DIR -i
conv|gemm``: verbose, per-cycle traces written, whatever ``-s`` says) instead of the API with
traces off; the cycles come from the same report either way.

Wall time of each process (fork to exit), median per case; the ratio SCALE-Sim / archsim is
printed per case and as the median over cases. The summed cycles of the two must agree (checked).

Then the same cases as a batch, each tool in one process (``--repeat`` times, median):

* archsim: one ``archsim simulate --batch jobs.csv`` process (one row per case, every output
  folder written as above; start-up and Numba's kernel load paid once);
* SCALE-Sim: one process of its Python running the cases one after another through its API
  (SCALE-Sim has no batch command; this is the most favourable way to run it).

Printed: the batch ratio against SCALE-Sim run one process per case (as its command line runs
it: the sum of the per-case medians above) and against SCALE-Sim's own batch. ``--batch-only``
skips archsim's one-process-per-case runs (for many cases). Speed is measured here, never
asserted in a test.

    python benchmarks/bench_process_vs_scalesim.py [--cases 10] [--repeat 3] [--batch-only] \
        [--scalesim-python /work/scalesim-venv/bin/python]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tools/scalesim_golden/random_goldens.json"
FIXED = REPO / "tests/golden/scalesim"
NETWORKS = ("mobilenet_small", "transformer_gemm")
LAYOUT = "Layer name, (no custom layout rows),\n"
SCALESIM_CHILD = ("import sys; from scalesim.scale_sim import scalesim; "
                  "s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2], "
                  "layout=sys.argv[3], input_type_gemm=sys.argv[4] == '1'); s.run_scale(top_path=sys.argv[5])")
SCALESIM_BATCH = ("import sys; from scalesim.scale_sim import scalesim\n"
                  "for line in open(sys.argv[1]):\n"
                  "    cfg, topo, layout, gemm, out = line.rstrip('\\n').split('\\t')\n"
                  "    s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout, "
                  "input_type_gemm=gemm == '1')\n"
                  "    s.run_scale(top_path=out)\n")


def timed(cmd, env=None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0


def load_cases(which: str, n: int, topologies=NETWORKS) -> list[dict]:
    """``random``: the first ``n`` harness cases; ``networks``: the fixed cases of ``topologies``
    (of NETWORKS), in the harness cases' form (seed = the case's name)."""
    if which == "random":
        return json.loads(GOLDEN.read_text())["cases"][:n]
    cases = []
    for path in sorted(FIXED.glob("*.json")):
        h = json.loads(path.read_text())["header"]
        if h["topology"] not in topologies:
            continue
        cases.append({"seed": h["case"], "cfg_text": h["cfg_text"], "topology_text": h["topology_csv_text"],
                      "gemm": h["input_type_gemm"], "cfg": {"mode": "CALC", "dataflow": h["dataflow"],
                                                            "rows": h["array_rows"], "cols": h["array_cols"]}})
    return cases[:n]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scalesim-python", default="/work/scalesim-venv/bin/python")
    ap.add_argument("--batch-only", action="store_true",
                    help="time archsim only as the batch (SCALE-Sim still one process per case and as its batch)")
    ap.add_argument("--set", choices=("random", "networks"), default="random",
                    help="random: small harness configurations; networks: the fixed small-network cases")
    ap.add_argument("--scalesim-cli", action="store_true",
                    help="run SCALE-Sim through its command line (writes its per-cycle traces) instead of the API")
    ap.add_argument("--topologies", default=",".join(NETWORKS),
                    help=f"with --set networks: which of {', '.join(NETWORKS)} (comma-separated)")
    a = ap.parse_args(argv)
    topologies = tuple(a.topologies.split(","))
    if not set(topologies) <= set(NETWORKS):
        ap.error(f"--topologies: choose from {', '.join(NETWORKS)}")
    cases = load_cases(a.set, a.cases, topologies)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    work = Path(tempfile.mkdtemp(prefix="bench_proc_"))
    runs = []
    for c in cases:
        d = work / f"case-{c['seed']}"
        d.mkdir()
        (d / "arch.cfg").write_text(c["cfg_text"])
        (d / "net.csv").write_text(c["topology_text"])
        (d / "layout.csv").write_text(LAYOUT)
        subprocess.run([sys.executable, "-m", "archsim.cli", "import", "scalesim", "--config", str(d / "arch.cfg"),
                        "-o", str(d / "imported")], check=True, stdout=subprocess.DEVNULL, env=env)
        archsim_cmd = [sys.executable, "-m", "archsim.cli", "simulate", "--hw", str(d / "imported/arch.yaml"),
                       "--trace", str(d / "net.csv"), "-o", str(d / "out"), "--quiet"]
        scalesim_cmd = [a.scalesim_python, "-c", SCALESIM_CHILD, str(d / "arch.cfg"), str(d / "net.csv"),
                        str(d / "layout.csv"), "1" if c["gemm"] else "0", str(d / "ss")]
        if a.scalesim_cli:
            scalesim_cmd = [a.scalesim_python, "-m", "scalesim.scale", "-c", str(d / "arch.cfg"), "-t",
                            str(d / "net.csv"), "-l", str(d / "layout.csv"), "-p", str(d / "ss"),
                            "-i", "gemm" if c["gemm"] else "conv"]
        if not a.batch_only:
            timed(archsim_cmd, env)             # warm the file cache (not timed)
        runs.append((c, d, archsim_cmd, scalesim_cmd, [], []))
    for _ in range(a.repeat):
        for c, d, acmd, scmd, t_arch, t_ss in runs:
            t_ss.append(timed(scmd))
            if not a.batch_only:
                t_arch.append(timed(acmd, env))

    def scalesim_cycles(d: Path) -> int:
        with open(next((d / "ss").rglob("COMPUTE_REPORT.csv"))) as f:     # its traces: not kept
            for trace in (d / "ss").rglob("*.csv"):
                if "REPORT" not in trace.name:
                    trace.unlink()
            rows = list(csv.reader(f))[1:]
        return sum(int(r[2]) for r in rows if r and r[0].strip())

    if not a.batch_only:
        ratios = []
        print(f"{'case':>8} {'mode':>5} {'df':>3} {'array':>8} {'SCALE-Sim s':>12} {'archsim s':>10} {'ratio':>8}")
        for c, d, _, _, t_arch, t_ss in runs:
            ours = json.loads((d / "out/summary.json").read_text())["cycles"]
            assert ours == scalesim_cycles(d), (c["seed"], ours, scalesim_cycles(d))
            ss, ar = statistics.median(t_ss), statistics.median(t_arch)
            ratios.append(ss / ar)
            cfg = c["cfg"]
            print(f"{c['seed']:>8} {cfg['mode']:>5} {cfg['dataflow']:>3} {cfg['rows']:>4}x{cfg['cols']:<4}"
                  f"{ss:>12.3f} {ar:>10.3f} {ss / ar:>8.1f}")
        print(f"median ratio SCALE-Sim / archsim over {len(ratios)} cases (whole process, wall): "
              f"{statistics.median(ratios):.1f}x; archsim median "
              f"{statistics.median(statistics.median(r[4]) for r in runs):.3f} s, "
              f"SCALE-Sim median {statistics.median(statistics.median(r[5]) for r in runs):.3f} s")
    # -- the same cases as one batch per tool
    jobs = work / "jobs.csv"
    jobs.write_text("hw,trace,out\n" + "".join(f"{d.name}/imported/arch.yaml,{d.name}/net.csv,{d.name}/batch_out\n"
                                                for _, d, *_ in runs))
    ss_jobs = work / "scalesim_jobs.tsv"
    ss_jobs.write_text("".join(f"{d / 'arch.cfg'}\t{d / 'net.csv'}\t{d / 'layout.csv'}\t{1 if c['gemm'] else 0}\t"
                               f"{d / 'ss_batch'}\n" for c, d, *_ in runs))
    batch_cmd = [sys.executable, "-m", "archsim.cli", "simulate", "--batch", str(jobs), "--quiet"]
    t_batch, t_ss_batch = [], []
    timed(batch_cmd, env)                       # warm: compiles the Numba kernel on a fresh checkout (not timed)
    for _ in range(a.repeat):
        t_ss_batch.append(timed([a.scalesim_python, "-c", SCALESIM_BATCH, str(ss_jobs)]))
        t_batch.append(timed(batch_cmd, env))
    for c, d, *_ in runs:
        batch = json.loads((d / "batch_out/summary.json").read_text())
        assert batch["cycles"] == scalesim_cycles(d), c["seed"]
        if not a.batch_only:
            assert batch == json.loads((d / "out/summary.json").read_text()), c["seed"]
    ours, ss_one, ss_batch = (statistics.median(t_batch), sum(statistics.median(r[5]) for r in runs),
                              statistics.median(t_ss_batch))
    print(f"batch of {len(runs)} cases, one process each tool: archsim {ours:.3f} s "
          f"({1e3 * ours / len(runs):.1f} ms per case), SCALE-Sim batch {ss_batch:.3f} s, "
          f"SCALE-Sim one process per case {ss_one:.3f} s in all")
    print(f"batch ratio: {ss_one / ours:.1f}x against SCALE-Sim one process per case; "
          f"{ss_batch / ours:.1f}x against SCALE-Sim's own batch (cycles equal to SCALE-Sim's: checked)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
