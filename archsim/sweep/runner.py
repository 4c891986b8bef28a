"""Run a sweep: plan it, skip what the store already holds, run the rest in batches on an
executor, append each finished batch to the store, and keep the table up to date.

    from archsim.sweep import run_sweep
    outcome = run_sweep("examples/sweeps/mac_array_grid.yaml", "out/grid", jobs=2)
    outcome.table          # Path of results.parquet (or .csv)
"""
from __future__ import annotations

import dataclasses
import functools
import math
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from archsim.sweep.executors import DaskExecutor, LocalExecutor
from archsim.sweep.plan import Plan, make_plan
from archsim.sweep.store import ResultStore
from archsim.sweep.worker import run_batch, warm_up

# summary figures first, in this order; the rest (per component, per level, metrics) follow sorted
LEADING = ["status", "error", "accuracy_mean", "accuracy_std", "latency_s", "energy_j", "area_mm2", "edap_j_s_mm2",
           "power_w", "tops",
           "tops_per_w", "tops_per_mm2", "cycles", "macs", "macs_effectual", "ops", "dynamic_energy_j",
           "static_energy_j", "clock_mhz", "timesteps", "energy_table"]
TRAILING = ["hardware_file", "trace_file", "row_id", "run_id", "repriced", "elapsed_s", "worker"]
LOG_ONLY = {"point_values"}


@dataclass
class SweepOutcome:
    plan: Plan
    out: Path
    table: Path
    run_id: str
    total: int            # distinct runs of the spec
    already_done: int     # found in the store, not run again
    computed: int         # run now
    failed: int           # rows of the table with status "error"
    interrupted: bool = False


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the sweep; what finished is saved. ``outcome`` says how far."""

    def __init__(self, outcome: SweepOutcome):
        super().__init__("sweep interrupted")
        self.outcome = outcome


def table_frame(plan: Plan, rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """One row per (design point, trace) of ``plan`` that ``rows`` holds a result for, in plan
    order: the plan's columns (point, trace, swept values, files) and the stored result."""
    records = []
    for spec_row in plan.rows:
        stored = rows.get(spec_row["row_id"])
        if stored is None:
            continue
        rec = dict(spec_row)
        rec.update({k: v for k, v in stored.items() if k not in rec and k not in LOG_ONLY})
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    head = ["point", "trace", "hardware", "architecture", *plan.keys]
    cols = list(frame.columns)
    lead = [c for c in dict.fromkeys(head + LEADING) if c in cols]   # a swept key may be a summary key too
    tail = [c for c in TRAILING if c in cols and c not in lead]
    middle = sorted(c for c in cols if c not in lead and c not in tail)
    return frame[lead + middle + tail] if records else pd.DataFrame(columns=head + ["status", "error"])


def auto_batch(n_tasks: int, workers: int, per_worker: int = 8, cap: int = 64) -> int:
    """Enough batches to keep every worker busy and the progress bar moving (``per_worker``
    each), few enough that scheduling overhead stays small (at most ``cap`` runs per batch).
    Executors say what suits them (a Dask task costs more than a pool task)."""
    return max(1, min(cap, math.ceil(n_tasks / (max(1, workers) * per_worker))))


def run_sweep(spec, out_dir: str | Path, *, executor: str | Any = "local", jobs: int | None = None,
              scheduler: str | None = None, batch_size: int | None = None, retry_failed: bool = False,
              table_format: str | None = None, progress: bool = False, plan: Plan | None = None,
              table_every_s: float = 10.0) -> SweepOutcome:
    """Run the sweep ``spec`` (a path or a Plan) into ``out_dir``, resuming what is there.

    ``executor`` is ``"local"`` (``jobs`` processes; 1 runs here), ``"dask"`` (the cluster at
    ``scheduler``, or a LocalCluster of ``jobs`` workers) or an executor object."""
    plan = plan or make_plan(spec, progress=progress)
    store = ResultStore(out_dir).open(plan.name, table_format)
    run_id = time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)
    outcome = SweepOutcome(plan=plan, out=Path(out_dir), table=store.table_path, run_id=run_id,
                           total=len(plan.tasks), already_done=0, computed=0, failed=0)
    try:
        pending = [t for t in plan.tasks if not store.done(t.row_id, retry_failed)]
        if plan.loaded.spec.accuracy is not None:   # evaluations cached beside the table (archsim.sweep.accuracy)
            cache = str((Path(out_dir) / "accuracy_cache").resolve())
            pending = [dataclasses.replace(t, accuracy_cache=cache) for t in pending]
        outcome.already_done = outcome.total - len(pending)
        if executor == "local":
            ex = LocalExecutor(jobs)
        elif executor == "dask":
            files = sorted({t.hardware for t in pending} | {t.trace for t in pending})
            ex = DaskExecutor(scheduler=scheduler, jobs=jobs, files=files)
        else:
            ex = executor
        run_info = {"run_id": run_id, "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "executor": executor if isinstance(executor, str) else type(executor).__name__,
                    "jobs": jobs, "scheduler": scheduler, "pending": len(pending), "status": "running"}
        store.manifest.update(
            spec=str(plan.loaded.path.resolve()), spec_text=plan.loaded.path.read_text(),
            description=plan.loaded.spec.description, keys=plan.keys, rows=len(plan.rows),
            hardware_files=plan.loaded.spec.hardware_files, trace_files=plan.loaded.spec.trace_files_json(),
            family_gaps=plan.family_gaps)
        store.manifest.setdefault("runs", []).append(run_info)
        store.write_manifest()
        by_id = {r["row_id"]: r for r in plan.rows}
        archs = sorted({p.architecture for p in plan.points})
        try:
            if pending:
                _run(ex, pending, plan, store, run_id, by_id, archs, outcome, batch_size, progress, table_every_s)
            run_info["status"] = "complete"
        except KeyboardInterrupt:
            run_info["status"] = "interrupted"
            outcome.interrupted = True
        finally:
            run_info["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            run_info["computed"] = outcome.computed
            if run_info["status"] == "running":
                run_info["status"] = "failed"
            frame = table_frame(plan, store.rows)
            outcome.failed = int((frame["status"] == "error").sum()) if len(frame) else 0
            store.write_table(frame)
            store.write_manifest()
    finally:
        store.close()
    if outcome.interrupted:
        raise SweepInterrupted(outcome)
    return outcome


def _run(ex, pending, plan, store, run_id, by_id, archs, outcome, batch_size, progress, table_every_s) -> None:
    from tqdm.auto import tqdm

    with ex:
        size = batch_size or auto_batch(len(pending), getattr(ex, "workers", 1) or 1,
                                        *getattr(ex, "batching", (8, 64)))
        batches = [pending[i:i + size] for i in range(0, len(pending), size)]
        bar = tqdm(total=outcome.total, initial=outcome.already_done, unit="run", desc=plan.name,
                   disable=not progress, dynamic_ncols=True, smoothing=0.05)
        last_table = time.monotonic()
        try:
            for results in ex.imap(run_batch, batches, warm=functools.partial(warm_up, archs)):
                rows = []
                for r in results:
                    spec_row = by_id[r["row_id"]]
                    r["run_id"] = run_id
                    r["hardware_file"], r["trace_file"] = spec_row["hardware_file"], spec_row["trace_file"]
                    r["point_values"] = {k: spec_row[k] for k in plan.keys if k in spec_row}
                    rows.append(r)
                store.append(rows)
                outcome.computed += len(rows)
                bar.update(len(rows))
                if time.monotonic() - last_table > table_every_s:
                    store.write_table(table_frame(plan, store.rows))
                    last_table = time.monotonic()
        finally:
            bar.close()
