"""Refreshing drifted weights: reprogramming every static cell once per ``write.refresh_interval_s``.

A full refresh writes every cell of every static (programmed-once) operand with the write
scheme of ``params.write`` (``pulses + verify_iterations`` pulses per cell, ``verify_iterations``
verify reads per written row), layer after layer; each layer takes
``ceil(crossbars / max_parallel) * ceil(rows / rows_per_step) * (pulses' pulse_clocks + verify
verify_clocks)`` cycles, as a run-time write does (:mod:`archsim.arch.imc.cost`). The tables
price the pulses and verify reads (``crossbar.write_pulse``, ``crossbar.verify_read``).

Amortised per inference with inferences running back to back: one inference of latency ``L``
carries the share ``L / refresh_interval_s`` of a refresh, in energy (component ``refresh``)
and in time (the chip is unavailable while it reprograms), so ``latency_s`` grows by that share
of the refresh time. The summary reports ``refresh_energy_j`` and ``refresh_latency_s`` (one
full refresh) and ``refresh_share`` (per inference).
"""
from __future__ import annotations

import math

from archsim.arch.imc.params import ImcParams


def full_refresh(layouts, params: ImcParams, table) -> tuple[float, float]:
    """(energy pJ, cycles) of one full reprogramming of the static operands of ``layouts``."""
    w = params.write
    pulses = w.pulses + w.verify_iterations
    energy, cycles = 0.0, 0.0
    e_pulse = table.action("crossbar", "write_pulse").energy_pj
    e_verify = table.action("crossbar", "verify_read").energy_pj if w.verify_iterations else 0.0
    for layout in layouts:
        if layout.dynamic:
            continue
        energy += layout.cells_used * pulses * e_pulse + layout.rows_written * w.verify_iterations * e_verify
        waves = math.ceil(layout.crossbars / w.max_parallel_crossbars) if w.max_parallel_crossbars else 1
        steps = max(1, math.ceil(layout.max_rows_per_crossbar / w.rows_per_step))
        cycles += waves * steps * (pulses * w.pulse_clocks + w.verify_iterations * w.verify_clocks)
    return energy, cycles


def amortised(summary: dict, layouts, params: ImcParams, table) -> dict:
    """The summary entries that change when a refresh is amortised over the inferences of one
    interval (empty when ``write.refresh_interval_s`` is unset)."""
    from archsim.result import derive

    interval = params.write.refresh_interval_s
    if interval is None:
        return {}
    energy_pj, cycles = full_refresh(layouts, params, table)
    clock_hz = summary["clock_mhz"] * 1e6
    share = summary["latency_s"] / interval
    out = dict(summary)
    out["energy_j_by_component"] = {**summary["energy_j_by_component"], "refresh": share * energy_pj * 1e-12}
    out["energy_j"] = summary["energy_j"] + share * energy_pj * 1e-12
    out["dynamic_energy_j"] = summary["dynamic_energy_j"] + share * energy_pj * 1e-12
    out["cycles"] = summary["cycles"] + share * cycles
    derive(out)
    out.update(refresh_energy_j=energy_pj * 1e-12, refresh_latency_s=cycles / clock_hz, refresh_share=share)
    return {k: v for k, v in out.items() if k not in summary or summary[k] is not v}
