"""Action counts and cycles of one op on the crossbar accelerator (no prices: the tables price).

Crossbar GEMM op, ``T`` timesteps, ``M`` input vectors per group, ``P`` input planes
(``input_planes``), layout ``L`` (:mod:`archsim.arch.imc.mapping`), activity ``a`` (the input
density when ``activity_gating``, else 1):

==========================  =====================================================
``crossbar.read``           ``L.reads_per_vector * M * P * T * a``
``dac.drive``               ``L.rows_driven_per_vector * M * P * T * a``
``adc.convert``             ``L.conversions_per_vector * M * P * T`` (also ``mux.select`` when
                            ``cols_per_adc > 1``, ``shift_add.add``, ``psum_buffer.access``)
``tile_buffer.read_vector`` PE cycles ``= L.pes * M * P * T`` (also ``htree.send_vector``,
                            ``input_buffer.read_vector``)
``crossbar.write_pulse``    dynamic operands: ``cells * (pulses + verify) * T * f``
``crossbar.verify_read``    ``rows written * verify * T * f``
``digital.op``              quantised operands: the dequantisation operations of
                            :func:`archsim.arch.quant_cost.dequant_ops` (scales, zero points)
==========================  =====================================================

cycles = ``T * (M * P * pe.cycle_clocks + write cycles)`` + ``ceil(dequant ops / digital.lanes) *
digital.op_clocks``; write cycles =
``ceil(crossbars / max_parallel) * max(1, ceil(max rows * f / rows_per_step)) * (pulses' *
pulse_clocks + verify * verify_clocks)`` with ``pulses' = pulses + verify``. ``f`` = 1, or for a
KV-cache product (tags ``cache_new_tokens`` and ``context``, as LLM decode traces write) the
fraction of the cache that is new: the cache stays in its crossbars between decode steps.
"""
from __future__ import annotations

import math

from archsim.arch.base import ActionCounter, OpCost
from archsim.arch.imc.mapping import Layout, OpOptions, input_planes
from archsim.arch.imc import spikesim_accounting
from archsim.arch.imc.params import ImcParams
from archsim.arch.quant_cost import total_dequant_ops
from archsim.arch.vector_ops import vector_ops
from archsim.trace.schema import DType, Role


def input_operand(op):
    name = "a" if op.kind == "matmul" else "input"
    return op.operand(name) if op.has_operand(name) else None


def cache_write_fraction(op) -> float:
    """Fraction of a run-time operand written per run: ``cache_new_tokens / context`` for a
    KV-cache product whose cache persists in the crossbars (tags written by the LLM traces), else 1."""
    new, ctx = op.tags.get("cache_new_tokens"), op.tags.get("context")
    if new is None or not ctx:
        return 1.0
    return min(1.0, float(new) / float(ctx))


def planes_of(op, params: ImcParams, opts: OpOptions) -> int:
    inp = input_operand(op)
    if inp is not None and inp.role == Role.spike:
        return 1
    bits = opts.input_bits or (inp.bits if inp is not None else 8)
    signed = inp is None or inp.dtype not in (DType.uint, DType.binary)
    return input_planes(bits, signed, params.dac_bits)


def gemm_cost(op, layout: Layout, params: ImcParams, opts: OpOptions) -> OpCost:
    T = op.timesteps
    M = op.gemm.M
    P = planes_of(op, params, opts)
    inp = input_operand(op)
    activity = inp.density if (params.activity_gating and inp is not None) else 1.0
    bit_vectors = M * P * T
    pe_cycles = layout.pes * bit_vectors
    conversions = layout.conversions_per_vector * bit_vectors

    acts = ActionCounter()
    acts.add("dac", "drive", layout.rows_driven_per_vector * bit_vectors * activity)
    if params.accounting == "spikesim":
        for (component, action), n in spikesim_accounting.pe_cycle_actions(params).items():
            acts.add(component, action, n * pe_cycles * (activity if component == "crossbar" else 1.0))
        conversions = spikesim_accounting.pe_cycle_actions(params)[("adc", "convert")] * pe_cycles
    else:
        acts.add("crossbar", "read", layout.reads_per_vector * bit_vectors * activity)
        acts.add("adc", "convert", conversions)
        if params.adc.cols_per_adc > 1:
            acts.add("mux", "select", conversions)
        acts.add("shift_add", "add", conversions)
        acts.add("psum_buffer", "access", conversions)
    for component, action in (("tile_buffer", "read_vector"), ("htree", "send_vector"),
                              ("input_buffer", "read_vector")):
        acts.add(component, action, pe_cycles)

    compute_cycles = M * P * params.pe.cycle_clocks * T
    # quantised operands: scales and zero points applied digitally to the column sums
    # (archsim.arch.quant_cost); the digital unit's cycles add to the op's
    dequant = total_dequant_ops(op)
    acts.add("digital", "op", dequant)
    dequant_cycles = math.ceil(dequant / params.digital.lanes) * params.digital.op_clocks
    compute_cycles += dequant_cycles
    write_cycles = 0.0
    cells_written = 0
    if layout.dynamic:
        w = params.write
        verify = opts.write_verify_iterations
        pulses = opts.write_pulses + verify
        # a KV cache kept in the crossbars between decode steps: only the new positions are
        # written (tags cache_new_tokens of context); otherwise the whole operand every run
        fraction = cache_write_fraction(op)
        cells_written = layout.cells_used * T * fraction
        acts.add("crossbar", "write_pulse", cells_written * pulses)
        acts.add("crossbar", "verify_read", layout.rows_written * verify * T * fraction)
        waves = math.ceil(layout.crossbars / w.max_parallel_crossbars) if w.max_parallel_crossbars else 1
        steps = max(1, math.ceil(layout.max_rows_per_crossbar * fraction / w.rows_per_step))
        write_cycles = waves * steps * (pulses * w.pulse_clocks + verify * w.verify_clocks) * T

    in_bits = (1 if inp is not None and inp.role == Role.spike else (opts.input_bits or (inp.bits if inp else 8)))
    out_bits = op.output.bits if op.output is not None else 16
    g = op.gemm
    buffer_bytes = (g.groups * g.M * g.K * in_bits + g.groups * g.M * g.N * out_bits) * T / 8
    return OpCost(
        cycles=compute_cycles + write_cycles,
        actions=acts.as_dict(),
        traffic_bytes={"buffer": buffer_bytes},
        macs_effectual=op.macs * T * activity,
        utilization=layout.utilization,
        metrics={"crossbars": float(layout.crossbars), "pes": float(layout.pes),
                 "cells_used": float(layout.cells_used), "cells_written": float(cells_written),
                 "input_planes": float(P), "pe_cycles": float(pe_cycles), "adc_conversions": float(conversions),
                 "compute_cycles": float(compute_cycles), "write_cycles": float(write_cycles),
                 "dequant_ops": float(dequant), "dequant_cycles": float(dequant_cycles)},
    )


def neuron_cost(op, params: ImcParams, producer_pe_cycles: float | None) -> OpCost:
    n = params.neuron
    T = op.timesteps
    updates = op.neurons * T if n.energy_per == "neuron" else producer_pe_cycles
    acts = ActionCounter()
    acts.add("neuron", "update", updates)
    cycles = math.ceil(op.neurons / n.lanes_per_layer) * n.update_clocks * T
    return OpCost(cycles=float(cycles), actions=acts.as_dict(),
                  metrics={"neuron_updates": float(op.neurons * T), "compute_cycles": float(cycles)})


def digital_cost(op, params: ImcParams) -> OpCost:
    d = params.digital
    count = vector_ops(op, d.ops_per_element)
    acts = ActionCounter()
    acts.add("digital", "op", count)
    cycles = math.ceil(count / d.lanes) * d.op_clocks
    return OpCost(cycles=float(cycles), actions=acts.as_dict(),
                  metrics={"digital_ops": float(count), "compute_cycles": float(cycles)})
