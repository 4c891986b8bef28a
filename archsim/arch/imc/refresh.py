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


def full_refresh(layouts, params: ImcParams) -> tuple[float, float, float]:
    """(write pulses, verify reads, cycles) of one full reprogramming of the static operands of
    ``layouts``: counts only; :func:`price` turns them into energy with the table."""
    w = params.write
    per_cell = w.pulses + w.verify_iterations
    pulses = verifies = cycles = 0.0
    for layout in layouts:
        if layout.dynamic:
            continue
        pulses += layout.cells_used * per_cell
        verifies += layout.rows_written * w.verify_iterations
        waves = math.ceil(layout.crossbars / w.max_parallel_crossbars) if w.max_parallel_crossbars else 1
        steps = max(1, math.ceil(layout.max_rows_per_crossbar / w.rows_per_step))
        cycles += waves * steps * (per_cell * w.pulse_clocks + w.verify_iterations * w.verify_clocks)
    return pulses, verifies, cycles


def amortised(summary: dict, layouts, params: ImcParams) -> dict:
    """The counted summary entries of a refresh amortised over the inferences of one interval
    (empty when ``write.refresh_interval_s`` is unset): the share of a refresh one inference
    carries, the pulses and verify reads of one full refresh, its time, and the inference's
    cycles grown by its share. Energies come in :func:`price`, from the tables."""
    interval = params.write.refresh_interval_s
    if interval is None:
        return {}
    pulses, verifies, cycles = full_refresh(layouts, params)
    clock_hz = summary["clock_mhz"] * 1e6
    share = summary["latency_s"] / interval
    total = summary["cycles"] + share * cycles
    return {"refresh_share": share, "refresh_write_pulses": pulses, "refresh_verify_reads": verifies,
            "refresh_latency_s": cycles / clock_hz, "cycles": total, "latency_s": total / clock_hz}


def price(summary: dict, table) -> None:
    """Price the counted refresh of ``summary`` (if any) with ``table``, in place: one full
    refresh's energy (``refresh_energy_j``) and the inference's share of it as component
    ``refresh`` (added to the energy), then the derived figures again."""
    from archsim.result import derive

    if "refresh_share" not in summary:
        return
    e_pulse = table.action("crossbar", "write_pulse").energy_pj
    e_verify = table.action("crossbar", "verify_read").energy_pj if summary["refresh_verify_reads"] else 0.0
    energy_j = (summary["refresh_write_pulses"] * e_pulse + summary["refresh_verify_reads"] * e_verify) * 1e-12
    carried = summary["refresh_share"] * energy_j
    summary["refresh_energy_j"] = energy_j
    summary["energy_j_by_component"] = {**summary["energy_j_by_component"], "refresh": carried}
    summary["energy_j"] += carried
    summary["dynamic_energy_j"] += carried
    derive(summary)
