#!/usr/bin/env python3
"""Run SCALE-Sim 3.0.0 on the random configurations of ``random_configs.py`` and write every
figure it reports, per layer, to ``random_goldens.json`` (the differential harness's goldens).

Reference tool (pinned): scalesim 3.0.0 (PyPI) with numpy < 2.4, in a throw-away environment
outside the repository::

    python3 -m venv /work/scalesim-venv
    /work/scalesim-venv/bin/pip install "numpy<2.4" scalesim==3.0.0

Run (from the repository root, low priority; SCALE-Sim is imported only in child processes)::

    nice -n 10 /work/scalesim-venv/bin/python tools/scalesim_golden/run_random.py \
        --seeds 0-199 --out tools/scalesim_golden/random_goldens.json

Per configuration it writes the .cfg, the topology CSV and a header-only layout CSV (SCALE-Sim
parses a layout file even with custom layouts off) into a scratch folder, runs
``scalesim(save_disk_space=True).run_scale`` and reads COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv
and DETAILED_ACCESS_REPORT.csv. Configurations run in batches in one child process each (one
import of SCALE-Sim per batch); the run time of each configuration is measured around
``run_scale`` (CPU and wall). A configuration SCALE-Sim fails on is recorded under ``failed``
with its error, not dropped silently.

The output is compact: ``columns`` (SCALE-Sim's column names, verbatim) and, per configuration,
the generator's draw (seed, cfg, layers), the cfg and topology texts, and under ``results`` one
row of values per SCALE-Sim layer (depthwise rows become one layer per channel).
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
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import random_configs as rc  # noqa: E402
from scalesim_cfg import LAYOUT_HEADER  # noqa: E402
REPORTS = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")


def _num(s: str):
    s = s.strip()
    try:
        return int(s)
    except ValueError:
        f = float(s)
        return int(f) if f.is_integer() and "." not in s and "e" not in s.lower() else f


def read_report(path: Path) -> tuple[list[str], list[list]]:
    with open(path) as f:
        rows = [r for r in csv.reader(f) if any(x.strip() for x in r)]
    header = [h.strip() for h in rows[0]]
    keep = [i for i, h in enumerate(header) if h]
    return [header[i] for i in keep], [[_num(r[i]) for i in keep] for r in rows[1:]]


def child(batch_file: str, work: str, out_file: str) -> None:
    """Inside the child process: run every configuration of the batch."""
    from scalesim.scale_sim import scalesim
    cases = json.loads(Path(batch_file).read_text())
    results = []
    for c in cases:
        d = Path(work) / c["cfg"]["run_name"]
        d.mkdir(parents=True, exist_ok=True)
        (d / "x.cfg").write_text(rc.cfg_text(c))
        (d / "topo.csv").write_text(rc.topology_text(c))
        (d / "layout.csv").write_text(LAYOUT_HEADER)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            s = scalesim(save_disk_space=True, verbose=False, config=str(d / "x.cfg"),
                         topology=str(d / "topo.csv"), layout=str(d / "layout.csv"), input_type_gemm=c["gemm"])
            s.run_scale(top_path=str(d / "out"))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rep = d / "out" / c["cfg"]["run_name"]
            cols, rows = [], None
            for r in REPORTS:
                h, v = read_report(rep / r)
                if rows is None:
                    rows = [[] for _ in v]
                for i, row in enumerate(v):
                    assert row[0] == i, (r, row)
                    rows[i] += row[1:]
                cols += h[1:]
            results.append({"seed": c["seed"], "columns": cols, "rows": rows,
                            "run_wall_s": round(wall, 3), "run_cpu_s": round(cpu, 3)})
        except BaseException as exc:  # noqa: BLE001  (recorded, never dropped)
            results.append({"seed": c["seed"], "error": f"{type(exc).__name__}: {exc}"[:300]})
    Path(out_file).write_text(json.dumps(results))


def parse_seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += range(int(a), int(b) + 1)
        elif part:
            out.append(int(part))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--seeds", default="0-199")
    ap.add_argument("--out", default=str(HERE / "random_goldens.json"))
    ap.add_argument("--batch", type=int, default=10)
    a = ap.parse_args(argv)
    if a.child:
        child(*a.child)
        return 0
    import importlib.metadata as md
    out = Path(a.out)
    doc = json.loads(out.read_text()) if out.exists() else None
    done = {c["seed"] for c in doc["cases"]} | {f["seed"] for f in doc["failed"]} if doc else set()
    if doc is None:
        doc = {"header": {
            "generator": "tools/scalesim_golden/random_configs.py (draw(seed)), run by tools/scalesim_golden/run_random.py",
            "scalesim_version": md.version("scalesim"), "numpy_version": md.version("numpy"),
            "python_version": platform.python_version(), "word_size_bytes": 1,
            "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "run_note": "shared 2-vCPU VM under nice -n 10; run times per configuration measured around run_scale"},
            "columns": None, "cases": [], "failed": []}
    todo = [s for s in parse_seeds(a.seeds) if s not in done]
    work = Path(tempfile.mkdtemp(prefix="scalesim_rand_"))
    for i in range(0, len(todo), a.batch):
        cases = [rc.draw(s) for s in todo[i:i + a.batch]]
        bf, of = work / f"batch{i}.json", work / f"res{i}.json"
        bf.write_text(json.dumps(cases))
        subprocess.run([sys.executable, __file__, "--child", str(bf), str(work), str(of)], check=True,
                       stdout=subprocess.DEVNULL)
        for c, r in zip(cases, json.loads(of.read_text())):
            if "error" in r:
                doc["failed"].append({"seed": c["seed"], "error": r["error"]})
                print(f"seed {c['seed']}: SCALE-Sim failed: {r['error']}", flush=True)
                continue
            if doc["columns"] is None:
                doc["columns"] = r["columns"]
            assert r["columns"] == doc["columns"], r["columns"]
            doc["cases"].append({**c, "cfg_text": rc.cfg_text(c), "topology_text": rc.topology_text(c),
                                 "run_wall_s": r["run_wall_s"], "run_cpu_s": r["run_cpu_s"], "results": r["rows"]})
            print(f"seed {c['seed']}: {len(r['rows'])} layers, {r['run_wall_s']} s", flush=True)
        doc["cases"].sort(key=lambda c: c["seed"])
        out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
