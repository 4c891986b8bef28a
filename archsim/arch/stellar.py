"""``stellar``: Stellar (Mao et al., "Stellar: Energy-Efficient and Low-Latency SNN Algorithm and
Hardware Co-Design with Spatiotemporal Computation", HPCA 2024), the fully temporal-parallel
dense-weight SNN accelerator LoAS compares against. See docs/models/stellar.md.

Stellar's few-spikes (FS) neurons detach accumulation from firing: a neuron accumulates its
input over all T timesteps before it fires, so the T timesteps of an input neuron can be
processed together (fully temporal-parallel, "S + fully-T" in LoAS's Table I). Its PEs each hold
T accumulators for one output neuron; an input neuron's T spikes travel as one word, and a word
with no spike is skipped. Weights are dense. Per GEMM view (spike words ``[M, K]`` times
weights ``[K, N]``):

* the ``n_pe`` PEs take ``n_pe`` output channels; a non-silent input word is broadcast to them
  and each adds its weight into the accumulators of the timesteps whose bit is set, one word
  per cycle: ``cycles = nnz(words) * ceil(N / n_pe)``;
* every PE is clocked every cycle: ``stellar_pe.cycle = n_pe * cycles``;
* SRAM: each non-silent word read once per output-channel group (``sram_word_bits``), one weight
  per PE per cycle (``weight_bits``), output spikes written (``M * N * T`` bits); no partial
  sums leave the PEs (outputs stay in the T accumulators over the whole reduction);
* DRAM: the non-silent input words (``dram_word_bits`` each) read, the same volume counted as
  the previous layer's write-back (LoAS's convention), the dense weights once.
"""
from __future__ import annotations

import math

import numpy as np
import pydantic

from archsim.arch.base import ActionCounter, HardwareModel, OpContext, OpCost
from archsim.arch.spmspm_common import combine, gemm_views, vector_op
from archsim.arch.vector_ops import OpsPerElement, default_ops_per_element
from archsim.config.validation import Strict
from archsim.trace.schema import GEMM_KINDS, OP_KINDS


class StellarParams(Strict):
    n_pe: int = pydantic.Field(16, ge=1, description="PEs, one output channel each")
    weight_bits: int = pydantic.Field(8, ge=1, description="bits per weight")
    sram_word_bits: int = pydantic.Field(12, ge=1, description="bits of a spike word in the on-chip buffer")
    dram_word_bits: int = pydantic.Field(8, ge=1, description="bits of a stored spike word off chip")
    vector_lanes: int = pydantic.Field(16, ge=1, description="lanes of the neuron unit")
    ops_per_element: OpsPerElement = pydantic.Field(default_factory=default_ops_per_element)


class StellarModel(HardwareModel):
    name = "stellar"
    description = "Stellar: FS neurons, fully temporal-parallel PEs, silent input words skipped, dense weights (analytical)"
    Params = StellarParams
    kinds = OP_KINDS

    def instances(self) -> dict[str, float]:
        return {"stellar_pe": self.params.n_pe, "stellar_buffer": 1}

    def run_op(self, op, ctx: OpContext) -> OpCost:
        if op.kind not in GEMM_KINDS:
            return vector_op(op, self.params, "lif" if op.kind == "lif" else "vector")
        views = gemm_views(op, ctx, self.params.weight_bits, pack_spike_b=True)
        return combine([self._view(v) for v in views], self.params.n_pe)

    def _view(self, view) -> OpCost:
        p = self.params
        M, N, K = view.shape
        words = view.words
        # a multi-bit input cannot be packed: each nonzero (timestep, neuron) is its own word
        nnz = float(np.count_nonzero(words)) if view.spike_input else float(np.bitwise_count(words).sum())
        groups = math.ceil(N / p.n_pe)
        cycles = nnz * groups
        pairs = nnz * N
        sram_read = nnz * groups * p.sram_word_bits + pairs * view.weight_bits
        sram_write = float(M * N * view.timesteps)
        dram = {"spikes": nnz * p.dram_word_bits, "weights": float(K * N * view.weight_bits),
                "writeback": nnz * p.dram_word_bits}
        acts = ActionCounter()
        acts.add("stellar_pe", "cycle", p.n_pe * cycles)
        acts.add("sram", "read_bit", sram_read)
        acts.add("sram", "write_bit", sram_write + dram["spikes"] + dram["weights"])
        acts.add("dram", "read_bit", dram["spikes"] + dram["weights"])
        acts.add("dram", "write_bit", dram["writeback"])
        return OpCost(
            cycles=cycles, actions=acts.as_dict(),
            traffic_bytes={"dram": sum(dram.values()) / 8,
                           "sram": (sram_read + sram_write + dram["spikes"] + dram["weights"]) / 8},
            macs_effectual=pairs, utilization=pairs / (p.n_pe * cycles) if cycles else 0.0,
            metrics={"compute_cycles": cycles, "nonsilent_words": nnz, "neurons": float(words.size),
                     **{f"dram_bytes.{k}": v / 8 for k, v in dram.items()}})
