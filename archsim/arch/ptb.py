"""``ptb``: Parallel Time Batching (Lee et al., "Parallel Time Batching: Systolic-Array
Acceleration of Sparse Spiking Neural Computation", HPCA 2022), the dense-weight SNN accelerator
LoAS compares against. See docs/models/ptb.md.

PTB runs an SNN layer on a systolic array and batches the timesteps of a **time window** (TW
time points): within a window the array treats (output position, time point) pairs as the rows
of one product, so every weight it fetches serves TW timesteps; windows run one after another
(weights are fetched again for every window). Per GEMM op (``M`` positions, ``K`` reduction,
``N`` output channels, T timesteps, ``groups`` groups):

* windows ``W = ceil(T / TW)``; each window is a ``(M * TW) x K`` by ``K x N`` product on a
  ``rows x cols`` array in ``dataflow`` (``systolic_math.gemm_costs``, SCALE-Sim v3's equations;
  the LoAS authors ran PTB output-stationary in SCALE-Sim): ``cycles = sum over windows of
  cycles(M * TW_w, K, N)`` (the last window may hold fewer time points);
* every PE is clocked every cycle (a dense array): ``ptb_pe.cycle = rows * cols * cycles``;
* SRAM: ifmap reads (one spike bit each), filter reads (``weight_bits`` each, per window),
  output and partial-sum writes and partial-sum reads (``psum_bits``); DRAM: compulsory traffic only
  (input spikes T bits per neuron, weights once, output spikes T bits per neuron), as in the
  LoAS authors' comparison.

Weights are treated as dense (PTB has no weight-sparsity support, Table I of LoAS) and the spike
inputs as dense bit planes: PTB's packing of the active inputs of sparse windows is not
modelled (the LoAS authors ran PTB through SCALE-Sim, dense, too).
"""
from __future__ import annotations

from typing import Literal

import pydantic

from archsim.arch import systolic_math as sm
from archsim.arch.base import ActionCounter, HardwareModel, OpContext, OpCost
from archsim.arch.spmspm_common import vector_op
from archsim.arch.vector_ops import OpsPerElement, default_ops_per_element
from archsim.config.validation import Strict
from archsim.errors import TraceError
from archsim.trace.schema import GEMM_KINDS, OP_KINDS


class PtbParams(Strict):
    rows: int = pydantic.Field(16, ge=1, description="array rows")
    cols: int = pydantic.Field(4, ge=1, description="array columns")
    dataflow: Literal["os", "ws", "is"] = pydantic.Field(
        "os", description="systolic dataflow of the window's product (the LoAS authors' SCALE-Sim run: os)")
    time_window: int | None = pydantic.Field(
        None, ge=1, description="time points per window (TW); null: all T timesteps in one window")
    weight_bits: int = pydantic.Field(8, ge=1, description="bits per weight")
    psum_bits: int = pydantic.Field(12, ge=1, description="partial-sum accumulator bits")
    vector_lanes: int = pydantic.Field(16, ge=1, description="lanes of the neuron (LIF) unit")
    ops_per_element: OpsPerElement = pydantic.Field(default_factory=default_ops_per_element)


def _gemm_shape(op) -> tuple[int, int, int, int]:
    """(groups, M, K, N) of a GEMM op."""
    a_name, b_name = ("a", "b") if op.kind == "matmul" else ("input", "weight")
    if not (op.has_operand(a_name) and op.has_operand(b_name)):
        raise TraceError(f"op {op.id}: a dense SNN model needs operands '{a_name}' and '{b_name}'")
    g = op.gemm
    return g.groups, g.M, g.K, g.N


def window_sizes(T: int, window: int | None) -> list[int]:
    """Time points of each window: ``[TW, TW, ..., rest]``."""
    tw = T if window is None else min(window, T)
    return [tw] * (T // tw) + ([T % tw] if T % tw else [])


class PtbModel(HardwareModel):
    name = "ptb"
    description = "PTB: weight-stationary systolic array, timesteps batched in time windows (dense weights; analytical)"
    Params = PtbParams
    kinds = OP_KINDS

    def instances(self) -> dict[str, float]:
        return {"ptb_pe": self.params.rows * self.params.cols, "ptb_buffer": 1}

    def run_op(self, op, ctx: OpContext) -> OpCost:
        if op.kind not in GEMM_KINDS:
            return vector_op(op, self.params, "lif" if op.kind == "lif" else "vector")
        p, T = self.params, op.timesteps
        groups, M, K, N = _gemm_shape(op)
        cycles = 0.0
        ifmap = filt = ofmap = psum = 0.0
        macs = 0.0
        for tw in window_sizes(T, p.time_window):
            c = sm.gemm_costs(p.dataflow, p.rows, p.cols, M * tw, K, N)
            cycles += groups * float(c["cycles"])
            ifmap += groups * float(c["ifmap_sram_reads"])
            filt += groups * float(c["filter_sram_reads"])
            ofmap += groups * float(c["ofmap_sram_writes"])
            psum += groups * float(c["psum_sram_reads"])
            macs += groups * float(c["macs"])
        a_name = "a" if op.kind == "matmul" else "input"
        in_neurons = op.operand(a_name).numel
        dram_bits = {"spikes": float(in_neurons * T), "weights": float(groups * K * N * p.weight_bits),
                     "writeback": float(groups * M * N * T)}
        sram_read = ifmap * 1 + filt * p.weight_bits + psum * p.psum_bits
        sram_write = ofmap * p.psum_bits + dram_bits["spikes"] + dram_bits["weights"]
        acts = ActionCounter()
        acts.add("ptb_pe", "cycle", p.rows * p.cols * cycles)
        acts.add("sram", "read_bit", sram_read)
        acts.add("sram", "write_bit", sram_write)
        acts.add("dram", "read_bit", dram_bits["spikes"] + dram_bits["weights"])
        acts.add("dram", "write_bit", dram_bits["writeback"])
        windows = len(window_sizes(T, p.time_window))
        return OpCost(
            cycles=cycles, actions=acts.as_dict(),
            traffic_bytes={"dram": sum(dram_bits.values()) / 8, "sram": (sram_read + sram_write) / 8},
            macs_effectual=macs, utilization=macs / (p.rows * p.cols * cycles) if cycles else 0.0,
            metrics={"compute_cycles": cycles, "time_windows": float(windows),
                     "weight_loads": float(windows * groups * K * N),
                     **{f"dram_bytes.{k}": v / 8 for k, v in dram_bits.items()}})

