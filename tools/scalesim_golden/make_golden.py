#!/usr/bin/env python3
"""Produce golden per-layer numbers from SCALE-Sim v3 for archsim's systolic-array model.

Reference tool (pinned; golden values move between releases):
    scalesim 3.0.0 (PyPI), numpy 2.3.5 (scalesim 3.0.0 crashes with numpy >= 2.4 in the
    double-buffered scratchpad model), pandas 3.1.1, CPython 3.11.7.

Create the throw-away environment (outside the repository):
    python3.11 -m venv /tmp/venv-scalesim
    /tmp/venv-scalesim/bin/pip install "scalesim==3.0.0" "numpy<2.4"

Run (from the repository root; one SCALE-Sim process at a time, low priority):
    nice -n 15 /tmp/venv-scalesim/bin/python tools/scalesim_golden/make_golden.py            # all cases
    nice -n 15 /tmp/venv-scalesim/bin/python tools/scalesim_golden/make_golden.py \
        --only transformer_gemm_ws_32x32 --force                                           # one case
Options: --workdir DIR (scratch output, default /tmp/scalesim_golden_work), --force (re-run cases
whose JSON already exists; by default they are skipped), --only NAME[,NAME...], --list,
--topologies transformer_gemm,resnet18,mobilenet_small (the default: 18 cases).
Cost on a 2-vCPU VM: GEMM block ~1-2 min per case, mobilenet_small < 1 min, ResNet-18 5-36 min
wall and 4-17 GB peak RSS per case (see EQUATIONS.md section 10); never run two at once.
Afterwards check the equations with our own model:
    .venv/bin/python tools/scalesim_golden/check_equations.py

What it does, per case (topology x dataflow x array shape):
  1. writes a SCALE-Sim .cfg (CALC interface bandwidth = no stall modelling, 64 KB
     ifmap/filter/ofmap SRAMs, word size fixed at 1 byte inside scalesim 3.0.0, custom layouts off)
     and a header-only layout CSV (scalesim 3.0.0 always parses a layout file, even with
     custom layouts disabled; with them disabled no row of it is used);
  2. runs SCALE-Sim in a child process through its Python API
     (``scalesim(save_disk_space=True, ...).run_scale(top_path=...)``; the CLI always writes
     per-cycle traces of many GB), measuring wall time, CPU time (user+sys) and peak RSS of the child;
  3. reads COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and DETAILED_ACCESS_REPORT.csv and writes
     tests/golden/scalesim/<topology>_<dataflow>_<rows>x<cols>.json with per-layer results
     (SCALE-Sim's column names kept verbatim, stripped of surrounding blanks) and a header with
     the versions, the exact cfg text, the topology CSV text, the date and the run times.

The topology CSVs in topologies/ are our own (see EQUATIONS.md for the conventions).
No SCALE-Sim code is copied here; SCALE-Sim is only imported in the child process.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scalesim_cfg  # noqa: E402
from scalesim_cfg import LAYOUT_HEADER  # noqa: E402

REPO = HERE.parent.parent
TOPO_DIR = HERE / "topologies"
GOLDEN_DIR = REPO / "tests" / "golden" / "scalesim"

# topology name -> (csv file, is GEMM form)
TOPOLOGIES = {
    "transformer_gemm": ("transformer_gemm.csv", True),
    "resnet18": ("resnet18.csv", False),
    "mobilenet_small": ("mobilenet_small.csv", False),
}
DEFAULT_TOPOLOGIES = ["transformer_gemm", "resnet18", "mobilenet_small"]
DATAFLOWS = ["ws", "os", "is"]
ARRAYS = [(32, 32), (8, 64)]
SRAM_KB = 64


def case_cfg(name: str, df: str, rows: int, cols: int) -> dict:
    """The fixed cases' configuration (see the module doc), as :func:`scalesim_cfg.cfg_text` takes it."""
    return {"run_name": name, "rows": rows, "cols": cols, "dataflow": df, "mode": "CALC",
            "ifmap_kb": SRAM_KB, "filter_kb": SRAM_KB, "ofmap_kb": SRAM_KB, "bandwidth": [10],
            "ifmap_bank_bw": 10, "ifmap_bank_num": 10, "filter_bank_bw": 10, "filter_bank_num": 10}


def case_name(topo: str, df: str, rows: int, cols: int) -> str:
    return f"{topo}_{df}_{rows}x{cols}"


def all_cases(topos):
    for topo in topos:
        for df in DATAFLOWS:
            for rows, cols in ARRAYS:
                yield topo, df, rows, cols


def _num(s: str):
    s = s.strip()
    try:
        return int(s)
    except ValueError:
        pass
    try:
        f = float(s)
        return int(f) if f.is_integer() and "." not in s and "e" not in s.lower() else f
    except ValueError:
        return s


def read_report(path: Path):
    """Return list of dicts (one per layer) keyed by SCALE-Sim's own column names."""
    with open(path) as f:
        rows = list(csv.reader(f))
    header = [h.strip() for h in rows[0]]
    out = []
    for r in rows[1:]:
        if not any(x.strip() for x in r):
            continue
        d = {}
        for h, v in zip(header, r):
            if h == "":
                continue
            d[h] = _num(v)
        out.append(d)
    return out


def read_topology(path: Path, gemm: bool):
    layers = []
    with open(path) as f:
        lines = [ln.strip() for ln in f if ln.strip()]
    for ln in lines[1:]:
        e = [x.strip() for x in ln.split(",")[:-1]]  # SCALE-Sim drops the field after the last comma
        if gemm:
            m, n, k = int(e[1]), int(e[2]), int(e[3])
            # SCALE-Sim's internal conv view of a GEMM row
            layers.append({"name": e[0], "M": m, "N": n, "K": k,
                           "ifmap_h": m, "ifmap_w": k, "filter_h": 1, "filter_w": k,
                           "channels": 1, "num_filters": n, "stride": 1})
        else:
            shape = {"ifmap_h": int(e[1]), "ifmap_w": int(e[2]), "filter_h": int(e[3]),
                     "filter_w": int(e[4]), "channels": int(e[5]), "num_filters": int(e[6]),
                     "stride": int(e[7])}
            if "DP" in e[0]:
                # SCALE-Sim's depthwise convention: a row whose name contains "DP" becomes one
                # single-channel layer per channel, named <name>Channel_<i>, Num filter kept.
                for i in range(shape["channels"]):
                    layers.append({"name": f"{e[0]}Channel_{i}", **shape, "channels": 1,
                                   "depthwise_of": e[0]})
            else:
                layers.append({"name": e[0], **shape})
    return layers


def child_main(cfg: str, topo: str, layout: str, gemm: bool, out: str) -> None:
    """Runs inside the child process: the only place SCALE-Sim is imported."""
    from scalesim.scale_sim import scalesim  # noqa: import inside the child on purpose
    s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo,
                 layout=layout, input_type_gemm=gemm)
    s.run_scale(top_path=out)


def run_case(topo: str, df: str, rows: int, cols: int, workdir: Path) -> dict:
    name = case_name(topo, df, rows, cols)
    csv_file, gemm = TOPOLOGIES[topo]
    topo_path = TOPO_DIR / csv_file
    cdir = workdir / name
    cdir.mkdir(parents=True, exist_ok=True)
    cfg_text = scalesim_cfg.cfg_text(case_cfg(name, df, rows, cols))
    cfg_path = cdir / f"{name}.cfg"
    cfg_path.write_text(cfg_text)
    layout_path = cdir / "layout_unused.csv"
    layout_path.write_text(LAYOUT_HEADER)
    out_dir = cdir / "out"
    out_dir.mkdir(exist_ok=True)

    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(cfg_path), str(topo_path),
           str(layout_path), "1" if gemm else "0", str(out_dir)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=open(cdir / "stdout.txt", "w"), stderr=subprocess.STDOUT)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: SCALE-Sim child failed (rc={proc.returncode}); see {cdir}/stdout.txt")

    rep = out_dir / name
    compute = read_report(rep / "COMPUTE_REPORT.csv")
    bandwidth = read_report(rep / "BANDWIDTH_REPORT.csv")
    detail = read_report(rep / "DETAILED_ACCESS_REPORT.csv")
    shapes = read_topology(topo_path, gemm)
    assert len(compute) == len(shapes) == len(bandwidth) == len(detail), name

    layers = []
    for i, shp in enumerate(shapes):
        c, b, d = dict(compute[i]), dict(bandwidth[i]), dict(detail[i])
        for x in (c, b, d):
            assert x.pop("LayerID") == i
        layers.append({"layer_id": i, **shp, "compute_report": c, "bandwidth_report": b,
                       "detailed_access_report": d})

    import importlib.metadata as md
    header = {
        "generator": "tools/scalesim_golden/make_golden.py",
        "case": name,
        "topology": topo,
        "topology_csv": f"tools/scalesim_golden/topologies/{csv_file}",
        "topology_csv_text": topo_path.read_text(),
        "input_type_gemm": gemm,
        "dataflow": df,
        "array_rows": rows,
        "array_cols": cols,
        "word_size_bytes": 1,
        "scalesim_version": md.version("scalesim"),
        "numpy_version": md.version("numpy"),
        "python_version": platform.python_version(),
        "cfg_text": cfg_text,
        "layout_csv_text": LAYOUT_HEADER,
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run_wall_s": round(wall, 1),
        "run_cpu_s": round(ru.ru_utime + ru.ru_stime, 1),
        "run_peak_rss_mb": round(ru.ru_maxrss / 1024.0, 1),
        "run_note": "shared 2-vCPU VM, SCALE-Sim under nice -n 15; wall time depends on other load",
    }
    return {"header": header, "layers": layers}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", nargs=5, metavar=("CFG", "TOPO", "LAYOUT", "GEMM", "OUT"),
                    help=argparse.SUPPRESS)
    ap.add_argument("--workdir", default="/tmp/scalesim_golden_work")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--topologies", default=",".join(DEFAULT_TOPOLOGIES))
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args(argv)
    if a.child:
        cfg, topo, layout, gemm, out = a.child
        child_main(cfg, topo, layout, gemm == "1", out)
        return 0

    topos = [t for t in a.topologies.split(",") if t]
    only = {x for x in a.only.split(",") if x}
    cases = [c for c in all_cases(topos) if not only or case_name(*c) in only]
    if only:
        known = {case_name(*c) for c in all_cases(TOPOLOGIES)}
        cases = [c for c in all_cases(TOPOLOGIES) if case_name(*c) in only]
        unknown = only - known
        if unknown:
            ap.error(f"unknown case(s): {sorted(unknown)}")
    if a.list:
        print("\n".join(case_name(*c) for c in cases))
        return 0
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(a.workdir)
    for c in cases:
        name = case_name(*c)
        dst = GOLDEN_DIR / f"{name}.json"
        if dst.exists() and not a.force:
            print(f"skip {name} (exists)", flush=True)
            continue
        print(f"run  {name} ...", flush=True)
        res = run_case(*c, workdir)
        dst.write_text(json.dumps(res, indent=1) + "\n")
        h = res["header"]
        tot = sum(l["compute_report"]["Total Cycles"] for l in res["layers"])
        print(f"done {name}: wall {h['run_wall_s']} s, cpu {h['run_cpu_s']} s, "
              f"rss {h['run_peak_rss_mb']} MB, sum Total Cycles {tot}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
