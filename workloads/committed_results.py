"""The main job's committed experiment results: what ``results/`` (``ARCHSIM_COMMITTED_RESULTS_DIR``)
must hold so that a fresh clone's ``./setup.sh`` computes none of the slow PyTorch experiments
(the counterpart of the committed checkpoints, ``checkpoints/``).

Each entry of :func:`main_job` is one experiment of the main job with the configuration the main
job runs it with (``archsim-workloads quant`` and ``vit-studies``): its result file
``<experiment>-<key>.json`` (the key is the configuration's hash, :mod:`workloads.result_cache`)
and, for StableQ, the folder of its exported traces. A committed file whose key no current entry
produces is *stale* (the configuration changed since it was computed);
``tests/workloads/test_committed_results.py`` fails on a stale or a missing file.

    archsim-workloads results                     # each entry: committed or missing; stale files
    archsim-workloads results --commit            # compute what is missing (or read the local cache), commit it
    archsim-workloads results --commit --refresh  # recompute every entry (``./setup.sh --retrain``)

A committed result file is the local cache's file plus its provenance (``provenance``: the
command, torch's version, the wall time of the computation when it ran here). The results of the
small ViT's studies (TReX, ClipFormer) are measured on the committed small-ViT checkpoint, so
rebuild them after retraining it (``./setup.sh --retrain`` does both, in that order).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from archsim.fileio import atomic_write_text
from workloads import result_cache


@dataclass(frozen=True)
class Entry:
    label: str
    file: str                                   # <experiment>-<key>.json
    run: Callable[[bool], object]               # run(refresh): computes (or reads) into the local cache
    folders: tuple[str, ...] = ()               # stored folders beside it (in the results cache)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.file, *self.folders)


def _file(entry: tuple) -> str:
    experiment, config, version = entry
    return result_cache.file_name(experiment, config, version)


def main_job() -> list[Entry]:
    """The experiments of the main job, with the main job's configurations."""
    from workloads import seed_spread
    from workloads.papers.clipformer import study as clipformer
    from workloads.papers.pcl import study as pcl
    from workloads.papers.stableq import study as stableq
    from workloads.papers.tesseraq import study as tesseraq
    from workloads.papers.trex import search as trex
    from workloads.papers.vit.small_vit import SmallViTConfig

    out = []
    sq = stableq.StableQConfig()

    def run_stableq(refresh: bool) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            stableq.export_traces(sq, tmp, refresh=refresh, progress=False)
    out.append(Entry("stableq", _file(stableq.cache_entry(sq)), run_stableq, (stableq.traces_folder(sq),)))
    for cfg in tesseraq.main_configs():
        out.append(Entry(f"tesseraq {cfg.label}", _file(tesseraq.cache_entry(cfg)),
                         lambda refresh, cfg=cfg: tesseraq.measure(cfg, refresh=refresh, progress=False)))
    out.append(Entry("pcl", _file(pcl.cache_entry()), lambda refresh: pcl.measure(refresh=refresh, progress=False)))
    vit = SmallViTConfig()
    tcfg = trex.TrexSearchConfig(vit=vit)
    out.append(Entry("trex", _file(trex.cache_entry(tcfg)),
                     lambda refresh: trex.measure(tcfg, refresh=refresh, progress=False)))
    ccfg = clipformer.ClipFormerConfig(vit=vit)
    out.append(Entry("clipformer", _file(clipformer.cache_entry(ccfg)),
                     lambda refresh: clipformer.measure(ccfg, refresh=refresh, progress=False)))
    for study in seed_spread.STUDIES:       # after stableq: its seed 0 is the entry above
        out.append(Entry(f"seeds {study}", _file(seed_spread.cache_entry(study)),
                         lambda refresh, study=study: seed_spread.measure(study, refresh=refresh, progress=False)))
    return out


def size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def committed_names(directory: Path | None = None) -> list[str]:
    d = Path(directory or result_cache.committed_dir())
    return sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) if d.is_dir() else []


def check(entries: list[Entry] | None = None, directory: Path | None = None) -> tuple[list[str], list[str]]:
    """``(missing, stale)``: entries' files the committed results lack, and committed files no
    entry produces (their configuration is not the main job's current one)."""
    d = Path(directory or result_cache.committed_dir())
    entries = main_job() if entries is None else entries
    wanted = {n for e in entries for n in e.names}
    missing = [f"{e.label}: {n}" for e in entries for n in e.names if not (d / n).exists()]
    stale = [n for n in committed_names(d) if n not in wanted]
    return missing, stale


def commit(entries: list[Entry] | None = None, refresh: bool = False, command: str = "",
           log: Callable[[str], None] = print) -> list[str]:
    """Run (or read) each entry and copy its files from the local cache into the committed
    results; remove committed files no main-job entry produces. Returns the stale names removed."""
    import torch

    d = result_cache.committed_dir()
    d.mkdir(parents=True, exist_ok=True)
    entries = main_job() if entries is None else entries
    for e in entries:
        already = not refresh and all((d / n).exists() for n in e.names)
        if already:
            log(f"{e.label}: committed already ({e.file})")
            continue
        t0 = time.perf_counter()
        # the local cache first (a result computed here), else compute; never read the committed copy
        local = result_cache.results_dir()
        computed = refresh or not all((local / n).exists() for n in e.names)
        if computed:
            e.run(True)
        seconds = time.perf_counter() - t0
        data = json.loads((local / e.file).read_text())
        data["provenance"] = {"command": command or "archsim-workloads results --commit",
                              "torch": torch.__version__,
                              **({"wall_time_s": round(seconds, 1)} if computed else {"taken_from": "local cache"})}
        atomic_write_text(d / e.file, json.dumps(data, indent=1, default=str) + "\n")
        for folder in e.folders:
            if (d / folder).exists():
                shutil.rmtree(d / folder)
            shutil.copytree(local / folder, d / folder)
        log(f"{e.label}: committed {e.file} ({sum(size(d / n) for n in e.names) / 1e3:.0f} kB, {seconds:.0f} s)")
    _, stale = check(None, d)          # against every main-job entry, not only those committed now
    for name in stale:
        path = d / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        log(f"removed stale {name}")
    return stale


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="archsim-workloads results",
                                description="the main job's committed experiment results (results/): list or rebuild")
    p.add_argument("--commit", action="store_true", help="compute what is missing and commit it; drop stale files")
    p.add_argument("--refresh", action="store_true", help="with --commit: recompute every entry")
    p.add_argument("--only", nargs="+", metavar="LABEL",
                   help="with --commit: these entries alone (labels as listed, or a prefix: tesseraq)")
    from workloads.device import add_argument, set_default
    add_argument(p)
    args = p.parse_args(argv)
    if args.refresh and not args.commit:
        p.error("--refresh needs --commit")
    set_default(args.device)
    d = result_cache.committed_dir()
    entries = main_job()
    if args.only and not args.commit:
        p.error("--only needs --commit")
    chosen = entries
    if args.commit:
        if args.only:
            chosen = [e for e in entries if any(e.label == o or e.label.startswith(o + " ") for o in args.only)]
            unknown = [o for o in args.only if not any(e.label == o or e.label.startswith(o + " ") for e in entries)]
            if unknown:
                p.error(f"--only: no entry {', '.join(unknown)} (entries: {', '.join(e.label for e in entries)})")
        commit(chosen, refresh=args.refresh,
               command="archsim-workloads results --commit" + (" --refresh" if args.refresh else ""))
    missing, stale = check(entries, d)
    failed = bool(stale) or (args.commit and any(not (d / n).exists() for e in chosen for n in e.names))
    total = 0
    for e in entries:
        n = sum(size(d / name) for name in e.names)
        total += n
        state = "missing" if any(not (d / name).exists() for name in e.names) else "fresh"
        print(f"{e.label:<32} {state:<8} {n / 1e3:8.0f} kB  {e.file}")
    for name in stale:
        print(f"{name:<32} stale    {size(d / name) / 1e3:8.0f} kB  (no main-job configuration has this key)")
    print(f"{d}: {total / 1e6:.2f} MB committed for the main job"
          + (f"; {len(missing)} missing, {len(stale)} stale" if missing or stale else ""))
    return 1 if failed else 0
