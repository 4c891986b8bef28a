"""``mac_array``: a plain output-stationary MAC array with a vector unit, one SRAM buffer and
DRAM. The small, exact reference model of the foundation; see docs/models/mac_array.md.

GEMM ops (conv2d, linear, matmul; ``groups`` products of M x K by K x N, T timesteps):

* the array computes a tile of ``rows`` x ``cols`` outputs at a time, one K step per cycle:
  ``compute_cycles = ceil(M/rows) * ceil(N/cols) * groups * K * T``;
* each K step reads ``rows`` inputs and ``cols`` weights from the SRAM (broadcast along the
  array): input bits read = ``ceil(N/cols) * M * K * groups * T * in_bits``, weight bits read =
  ``ceil(M/rows) * N * K * groups * T * w_bits``;
* DRAM: a static weight is read once per inference, other operands and the output once per
  timestep; DRAM reads are written into the SRAM, outputs are written to the SRAM and read out
  to DRAM;
* ``cycles = max(compute_cycles, dram_bytes / dram_bytes_per_cycle)`` (transfers overlap
  compute: double buffering).

Other ops run on ``vector_lanes`` lanes: ``cycles = max(ceil(elements * T * ops_per_element /
vector_lanes), memory cycles)``; ``ops_per_element`` per op kind is a parameter.

A spike input makes a MAC an accumulate (action ``acc`` instead of ``mac``). With
``gate_zero_inputs`` the MAC/acc energy is counted only for nonzero inputs (clock gating); the
cycles do not change (a dense array does not skip).
"""
from __future__ import annotations

import math

import pydantic

from archsim.arch.base import ActionCounter, HardwareModel, OpContext, OpCost
from archsim.arch.vector_ops import (OpsPerElement, default_ops_per_element, vector_cycles, vector_io_bits,
                                     vector_ops)
from archsim.config.validation import Strict
from archsim.trace.schema import GEMM_KINDS, OP_KINDS, Role

class MacArrayParams(Strict):
    rows: int = pydantic.Field(ge=1, description="output rows (M) computed in parallel")
    cols: int = pydantic.Field(ge=1, description="output columns (N) computed in parallel")
    vector_lanes: int = pydantic.Field(ge=1, description="lanes of the vector unit")
    sram_kib: float = pydantic.Field(gt=0, description="on-chip buffer capacity, KiB (area only)")
    dram_bandwidth_gbps: float = pydantic.Field(gt=0, description="DRAM bandwidth, GB/s")
    output_bits: int = pydantic.Field(default=16, ge=1, description="bits of an output written back, "
                                      "when the trace gives no output operand")
    vector_bits: int = pydantic.Field(default=16, ge=1, description="bits of a vector-op element "
                                      "whose operands the trace does not describe")
    gate_zero_inputs: bool = False
    ops_per_element: OpsPerElement = pydantic.Field(default_factory=default_ops_per_element)


class MacArrayModel(HardwareModel):
    name = "mac_array"
    description = "output-stationary MAC array + vector unit + SRAM + DRAM (analytical, exact)"
    Params = MacArrayParams
    kinds = OP_KINDS

    def instances(self) -> dict[str, float]:
        p = self.params
        return {"mac": p.rows * p.cols, "vector": p.vector_lanes, "sram": p.sram_kib * 8192}

    def _dram_bytes_per_cycle(self) -> float:
        return self.params.dram_bandwidth_gbps * 1e9 / (self.clock_mhz * 1e6)

    def run_op(self, op, ctx: OpContext) -> OpCost:
        return self._gemm(op) if op.kind in GEMM_KINDS else self._vector(op)

    def _gemm(self, op) -> OpCost:
        p, g, T = self.params, op.gemm, op.timesteps
        inp = op.operand("a" if op.kind == "matmul" else "input") if op.operands else None
        wgt = op.operand("b" if op.kind == "matmul" else "weight") if op.operands else None
        in_bits = inp.bits if inp else 16
        w_bits = wgt.bits if wgt else 16
        out_bits = op.output.bits if op.output is not None else p.output_bits
        row_tiles, col_tiles = math.ceil(g.M / p.rows), math.ceil(g.N / p.cols)
        compute_cycles = row_tiles * col_tiles * g.groups * g.K * T

        macs = g.macs * T
        spike_input = inp is not None and inp.role == Role.spike
        active = macs * (inp.density if (p.gate_zero_inputs and inp is not None) else 1.0)
        acts = ActionCounter()
        acts.add("mac", "acc" if spike_input else "mac", active)

        sram_read = (col_tiles * g.M * g.K * g.groups * T * in_bits
                     + row_tiles * g.N * g.K * g.groups * T * w_bits)
        out_bits_total = g.M * g.N * g.groups * T * out_bits
        in_numel = inp.numel if inp else g.M * g.K * g.groups
        w_numel = wgt.numel if wgt else g.K * g.N * g.groups
        w_times = 1 if (wgt is not None and wgt.role == Role.static_weight) else T
        dram_read = in_numel * in_bits * T + w_numel * w_bits * w_times
        return self._finish(op, acts, compute_cycles, sram_read, dram_read, out_bits_total,
                            macs_effectual=active, lanes=p.rows * p.cols, useful=macs)

    def _vector(self, op) -> OpCost:
        p = self.params
        ops = vector_ops(op, p.ops_per_element)
        acts = ActionCounter()
        acts.add("vector", "op", ops)
        dram_read, out_bits = vector_io_bits(op, p.vector_bits)
        return self._finish(op, acts, vector_cycles(ops, p.vector_lanes), 0, dram_read, out_bits,
                            macs_effectual=None, lanes=p.vector_lanes, useful=ops)

    def _finish(self, op, acts: ActionCounter, compute_cycles: float, sram_read_bits: float,
                dram_read_bits: float, out_bits: float, *, macs_effectual, lanes, useful) -> OpCost:
        # DRAM reads are written into the SRAM; outputs are written to the SRAM, then read out to DRAM
        sram_read = sram_read_bits + out_bits
        sram_write = dram_read_bits + out_bits
        acts.add("sram", "read_bit", sram_read)
        acts.add("sram", "write_bit", sram_write)
        acts.add("dram", "read_bit", dram_read_bits)
        acts.add("dram", "write_bit", out_bits)
        dram_bytes = (dram_read_bits + out_bits) / 8
        memory_cycles = dram_bytes / self._dram_bytes_per_cycle()
        cycles = max(compute_cycles, memory_cycles)
        return OpCost(
            cycles=cycles,
            actions=acts.as_dict(),
            traffic_bytes={"dram": dram_bytes, "sram": (sram_read + sram_write) / 8},
            macs_effectual=macs_effectual,
            utilization=useful / (lanes * cycles) if cycles else 0.0,
            metrics={"compute_cycles": float(compute_cycles), "stall_cycles": float(cycles - compute_cycles)},
        )
