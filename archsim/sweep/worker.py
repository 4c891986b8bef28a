"""What a sweep worker runs: a batch of (hardware, overrides, trace) tasks, one result row each.

This module is imported by pool workers and Dask workers, so it stays small and picklable by
reference: plain dataclasses in, plain dicts out. A failing task becomes a row with
``status="error"`` and the message; it never stops the batch.
"""
from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

# summary keys that the sweep table gets from the plan instead (spec-relative names)
_PLAN_KEYS = {"trace_file", "hardware_file", "trace", "hardware"}


@dataclass(frozen=True)
class Task:
    row_id: str                 # identifies (resolved hardware, trace content, seed)
    hardware: str               # absolute path of the base hardware file
    overrides: dict[str, Any] = field(hash=False)
    trace: str                  # absolute path of the trace (file or YAML layer list)
    trace_digest: str
    seed: int | None = None
    workload: dict[str, Any] = field(default_factory=dict, hash=False)   # timesteps / weight_sparsity knobs
    accuracy: dict[str, Any] | None = field(default=None, hash=False)   # archsim.sweep.accuracy block
    accuracy_cache: str | None = None
    count_key: str = ""         # tasks with the same count_key, trace and seed differ only in prices


_TRACES: dict[tuple[str, str], Any] = {}   # per process: (path, digest) -> Trace


def _trace(path: str, digest: str, workload: dict[str, Any] | None = None):
    key = (path, digest, tuple(sorted((workload or {}).items())))
    if key not in _TRACES:
        from archsim.trace.load import load_trace as load_any_trace
        if len(_TRACES) >= 8:        # bound memory: traces with tensors can be large
            _TRACES.pop(next(iter(_TRACES)))
        trace = load_any_trace(path)
        if workload:
            from archsim.generators.stats.knobs import apply_workload
            trace = apply_workload(trace, **workload)
        _TRACES[key] = trace
    return _TRACES[key]


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested summary dicts become dotted columns: ``energy_j_by_component.mac``."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            continue
        elif not prefix and key in _PLAN_KEYS:
            continue
        else:
            out[name] = value
    return out


def one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = " | ".join(lines) if lines else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_COUNTED: dict[tuple, Any] = {}   # per process: (count_key, trace, digest, seed) -> a Result with counts


def run_task(task: Task) -> dict[str, Any]:
    """Simulate the task, or, when this process already counted a design that counts the same
    (same ``count_key``: only energy-table variables or files differ), re-price those counts."""
    from archsim.config.hardware import load_hardware, with_tables
    from archsim.energy.price import reprice
    from archsim.engine import simulate

    start = time.perf_counter()
    row: dict[str, Any] = {"row_id": task.row_id}
    try:
        key = (task.count_key, task.trace, task.trace_digest, task.seed,
               json.dumps(task.workload, sort_keys=True))
        counted = _COUNTED.get(key) if task.count_key else None
        if counted is not None:      # the counted design with this point's tables: nothing else to validate
            hw = with_tables(counted[1], task.hardware, task.overrides)
            result = reprice(counted[0], hw, details=False)
        else:
            hw = load_hardware(task.hardware, task.overrides)
            result = simulate(_trace(task.trace, task.trace_digest, task.workload), hw, seed=task.seed,
                              details=False)
            if task.count_key:
                if len(_COUNTED) >= 64:
                    _COUNTED.pop(next(iter(_COUNTED)))
                _COUNTED[key] = (result, hw)
        row.update(status="ok", error="", repriced=counted is not None)
        row.update(flatten(result.summary))
        if task.accuracy is not None:
            from archsim.sweep.accuracy import evaluate_point
            row.update(evaluate_point(hw, task.accuracy, task.accuracy_cache))
    except Exception as exc:   # noqa: BLE001 - a failing point is recorded and the sweep goes on
        row.update(status="error", error=one_line(exc))
    row["elapsed_s"] = time.perf_counter() - start
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row


def run_batch(tasks: list[Task]) -> list[dict[str, Any]]:
    return [run_task(t) for t in tasks]


def warm_up(architectures: list[str]) -> None:
    """Import the hardware models (and with them their Numba kernels, from the on-disk cache)
    once per worker before the first batch, and forget the counts of earlier sweeps."""
    from archsim.arch.registry import get_model_class
    import archsim.engine  # noqa: F401

    _COUNTED.clear()   # a worker re-prices the counts it made in this sweep only
    for name in architectures:
        get_model_class(name)


def missing_files(paths: list[str]) -> list[str]:
    """The paths this worker cannot see (Dask workers need a shared file system)."""
    return [p for p in paths if not os.path.exists(p)]
