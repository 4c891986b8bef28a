"""Run a trace through a hardware model and price the counts: ``simulate(trace, hw)``."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from archsim.arch.base import OpContext
from archsim.config.hardware import Hardware, load_hardware
from archsim.energy.price import area_um2, dynamic_energy_pj, static_energy_pj
from archsim.errors import UnsupportedOpError
from archsim.result import Result, derive
from archsim.trace.io import Trace, load_trace


def simulate(trace: Trace | str | Path, hw: Hardware | str | Path, *, progress: bool = False,
             seed: int | None = None, details: bool = True) -> Result:
    """Simulate every op of ``trace`` on ``hw`` and return the priced :class:`Result`.

    ``seed`` (default: the trace's seed) seeds synthetic tensors for ops stored as statistics.
    ``details=False`` computes the summary only (empty per-op, action and source tables): sweeps
    use it, since building those tables is most of a small design point's time."""
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
    latency_s = total_cycles / clock_hz
    instances = model.instances()
    static_pj = static_energy_pj(instances, hw.table, latency_s)
    area = area_um2(instances, hw.table)
    busy_cycles = sum(c.cycles for c in costs.values()) or 1.0

    rows, action_rows = [], []
    dyn_total: dict[str, float] = defaultdict(float)
    traffic_total: dict[str, float] = defaultdict(float)
    metric_total: dict[str, float] = defaultdict(float)
    for op in trace.ops:
        cost = costs[op.id]
        dyn = dynamic_energy_pj(cost.actions, hw.table)
        for c, e in dyn.items():
            dyn_total[c] += e
        for lvl, b in cost.traffic_bytes.items():
            traffic_total[lvl] += b
        for k, v in cost.metrics.items():
            metric_total[k] += v
        if not details:
            continue
        share = cost.cycles / busy_cycles   # static energy is attributed in proportion to busy time
        energy = {c: dyn.get(c, 0.0) + share * static_pj.get(c, 0.0) for c in {*dyn, *static_pj}}
        row: dict[str, Any] = {
            "op_id": op.id, "kind": op.kind, "timesteps": op.timesteps,
            "cycles": cost.cycles, "latency_s": cost.cycles / clock_hz,
            "macs": op.macs * op.timesteps,
            "macs_effectual": cost.macs_effectual,
            "utilization": cost.utilization,
            "energy_pj": sum(energy.values()),
        }
        row.update({f"energy_pj.{c}": e for c, e in sorted(energy.items())})
        row.update({f"traffic_bytes.{lvl}": b for lvl, b in sorted(cost.traffic_bytes.items())})
        row.update(cost.metrics)
        row.update(cost.labels)
        row.update({f"tag.{k}": v for k, v in op.tags.items()})
        rows.append(row)
        for component, per_action in cost.actions.items():
            for action, count in per_action.items():
                action_rows.append({"op_id": op.id, "component": component, "action": action, "count": count})

    energy_by_component = {c: (dyn_total.get(c, 0.0) + static_pj.get(c, 0.0)) * 1e-12
                           for c in sorted({*dyn_total, *static_pj})}
    effectual = [c.macs_effectual for c in costs.values() if c.macs_effectual is not None]
    summary: dict[str, Any] = {
        "trace": trace.name,
        "trace_file": str(trace.path) if trace.path else None,
        "hardware": hw.name,
        "hardware_file": str(hw.path) if hw.path else None,
        "architecture": hw.config.architecture,
        "energy_table": hw.table.name,
        "energy_units": hw.table.units,        # "relative": only ratios of energies mean something
        "clock_mhz": hw.config.clock_mhz,
        "timesteps": trace.header.timesteps,
        "cycles": total_cycles,
        "macs": float(sum(op.macs * op.timesteps for op in trace.ops)),
        "macs_effectual": float(sum(effectual)) if effectual else None,
        "energy_j": sum(energy_by_component.values()),
        "dynamic_energy_j": sum(dyn_total.values()) * 1e-12,
        "static_energy_j": sum(static_pj.values()) * 1e-12,
        "energy_j_by_component": energy_by_component,
        "area_mm2": sum(area.values()) * 1e-6,
        "area_mm2_by_component": {c: a * 1e-6 for c, a in sorted(area.items())},
        "traffic_bytes_by_level": dict(sorted(traffic_total.items())),
        "metrics": dict(metric_total),
        "trace_metrics": dict(trace.header.metrics),   # measured by the frontend (accuracy, footprint, ...)
        "instances": instances,
    }
    derive(summary)
    summary.update(model.summarize(summary))
    sources = pd.DataFrame(hw.table.sources() if details else [],
                           columns=["component", "quantity", "value", "unit", "source"])
    return Result(summary=summary, ops=pd.DataFrame(rows),
                  actions=pd.DataFrame(action_rows, columns=["op_id", "component", "action", "count"]),
                  sources=sources)
