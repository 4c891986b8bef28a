"""Run a trace through a hardware model: ``simulate(trace, hw)``.

The engine counts (every op through the model: cycles, actions, traffic; the model's total
cycles and instances) and hands the counts to :mod:`archsim.energy.price`, which prices them. The
counts are kept with the result, so :func:`archsim.energy.price.reprice` can price them again
under another table without simulating.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from archsim.arch.base import OpContext
from archsim.config.hardware import Hardware, load_hardware
from archsim.energy.price import apply_prices, count_key, op_energy_pj, sum_actions
from archsim.errors import UnsupportedOpError
from archsim.result import Counts, Result, op_column_order
from archsim.rows import Rows
from archsim.trace.io import Trace, load_trace


def _fsum_by_key(dicts) -> dict[str, float]:
    parts: dict[str, list[float]] = {}
    for d in dicts:
        for k, v in d.items():
            parts.setdefault(k, []).append(float(v))
    return {k: math.fsum(v) for k, v in sorted(parts.items())}


def simulate(trace: Trace | str | Path, hw: Hardware | str | Path, *, progress: bool = False,
             seed: int | None = None, details: bool = True) -> Result:
    """Simulate every op of ``trace`` on ``hw`` and return the priced :class:`Result`.

    ``seed`` (default: the trace's seed) seeds synthetic tensors for ops stored as statistics.
    ``details=False`` computes the summary and the counts only (empty per-op, action and source
    tables): sweeps use it, since building those tables is most of a small design point's time."""
    trace = trace if isinstance(trace, Trace) else load_trace(trace)
    hw = hw if isinstance(hw, Hardware) else load_hardware(hw)
    model = hw.create_model()
    ctx = OpContext(trace, trace.header.seed if seed is None else seed)

    from archsim.arch.memory_guard import check_op_memory
    for op in trace.ops:
        if not model.supports(op):
            raise UnsupportedOpError(
                f"{hw.path or hw.name}: architecture '{hw.config.architecture}' does not model op kind "
                f"'{op.kind}' (op '{op.id}' of {trace.path or trace.name}); it models: {', '.join(model.kinds)}")
        check_op_memory(model, op, f"{trace.path or trace.name} on {hw.path or hw.name}")   # before any op runs

    model.prepare(trace, ctx)
    ops = trace.ops
    if progress:
        from tqdm.auto import tqdm
        ops = tqdm(ops, desc=f"{trace.name} on {hw.name}", unit="op", leave=False)
    costs = {op.id: model.run_op(op, ctx) for op in ops}

    clock_hz = hw.config.clock_mhz * 1e6
    total_cycles = model.total_cycles(trace, costs)
    counts = Counts(architecture=hw.config.architecture, clock_mhz=hw.config.clock_mhz, cycles=total_cycles,
                    actions=sum_actions(c.actions for c in costs.values()),
                    instances={c: float(n) for c, n in sorted(model.instances().items())},
                    busy_cycles=math.fsum(c.cycles for c in costs.values()), count_key=count_key(hw))

    effectual = [c.macs_effectual for c in costs.values() if c.macs_effectual is not None]
    summary: dict[str, Any] = {
        "trace": trace.name,
        "trace_file": str(trace.path) if trace.path else None,
        "hardware": hw.name,
        "hardware_file": str(hw.path) if hw.path else None,
        "architecture": hw.config.architecture,
        "clock_mhz": hw.config.clock_mhz,
        "timesteps": trace.header.timesteps,
        "cycles": total_cycles,
        "latency_s": total_cycles / clock_hz,
        "macs": math.fsum(op.macs * op.timesteps for op in trace.ops),
        "macs_effectual": math.fsum(effectual) if effectual else None,
        "traffic_bytes_by_level": _fsum_by_key(c.traffic_bytes for c in costs.values()),
        "metrics": _fsum_by_key(c.metrics for c in costs.values()),
        "trace_metrics": dict(sorted(trace.header.metrics.items())),   # measured by the frontend
        "instances": dict(counts.instances),
    }
    summary.update(model.summarize(summary))
    priced = apply_prices(summary, counts, hw.table)

    rows, action_rows = [], []
    if details:
        for op in trace.ops:
            cost = costs[op.id]
            energy = op_energy_pj(cost.actions, cost.cycles, counts, priced, hw.table)
            row: dict[str, Any] = {
                "op_id": op.id, "kind": op.kind, "timesteps": op.timesteps,
                "cycles": cost.cycles, "latency_s": cost.cycles / clock_hz,
                "macs": op.macs * op.timesteps,
                "macs_effectual": cost.macs_effectual,
                "utilization": cost.utilization,
                "energy_pj": math.fsum(energy.values()),
            }
            row.update({f"energy_pj.{c}": e for c, e in energy.items()})
            row.update({f"traffic_bytes.{lvl}": b for lvl, b in sorted(cost.traffic_bytes.items())})
            row.update(sorted(cost.metrics.items()))
            row.update(sorted(cost.labels.items()))
            row.update({f"tag.{k}": v for k, v in sorted(op.tags.items())})
            rows.append(row)
            for component in sorted(cost.actions):
                per_action = cost.actions[component]
                for action in sorted(per_action):
                    action_rows.append({"op_id": op.id, "component": component, "action": action,
                                        "count": per_action[action]})

    # pandas is imported only when a table is read as a DataFrame (archsim.rows)
    ops_rows = Rows(rows)
    ops_rows.columns = op_column_order(ops_rows.columns)
    sources = Rows(hw.table.sources() if details else [], columns=["component", "quantity", "value", "unit", "source"])
    return Result(summary=summary, ops=ops_rows,
                  actions=Rows(action_rows, columns=["op_id", "component", "action", "count"]),
                  sources=sources, counts=counts)
