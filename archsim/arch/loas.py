"""``loas``: LoAS (Yin et al., MICRO 2024), temporal-parallel PEs (TPPEs) running the fully
temporal-parallel (FTP) dataflow on dual-sparse SNN layers. See docs/models/loas.md.

Per GEMM view (spike words ``[M, K]`` times weights ``[K, N]``):

* **Compression.** A neuron's T spikes are one word; a bitmask marks the non-silent neurons
  (normal: fired at least once; ``strong_silent``: at least twice) and only their words are
  stored. Weights: a bitmask plus the nonzero values.
* **Tiles.** Loop order ``mntk`` by default: an A tile of 16 rows x 128 positions (one row per
  TPPE), a B tile of 128 x 32 broadcast to all TPPEs. A TPPE performs one matched pair
  (non-silent neuron x nonzero weight) per cycle for all T timesteps at once.
* **Timing.** ``paper``: a tile lasts its busiest TPPE's matched pairs (the authors' model).
  ``cycle``: the TPPE pipeline of :func:`archsim.kernels.tile_schedule.tppe_pipeline` (fast
  prefix sum 1 match/cycle into a FIFO; the laggy prefix sum of the spike bitmask takes
  ``tile_k / laggy_adders`` cycles per chunk before the correction path can pop), SRAM/DRAM
  bandwidth floors per tile, the final drain and the pipeline fill.
* **Traffic** (bits, the authors' accounting): the previous layer's compressed write-back
  (``nnz * word_bits + M*K``) once; a missing weight tile ``nnz*8 + numel`` and a missing spike
  tile ``nnz*word_bits + numel`` from DRAM into the buffer; per tile the B tile broadcast
  (``nnz*8 + numel``) and the A tile's bitmask when the A tile changes; ``word_bits`` per
  matched pair (the spike word read).
* **Energy.** ``per_op``: one ``tppe.op`` per matched pair (the authors' 5.80 per op);
  ``per_component``: each TPPE part counted when it works (fast/laggy prefix sums, pseudo and
  correction accumulators, FIFOs, weight buffer, bitmask registers).

``inner_join: fast_fast`` replaces the FTP join by two fast prefix sums (the ablation): no
speculation, FIFO or laggy unit; the T accumulators add each matched weight where the word's
bit is 1.

**Spike x spike** (a ``matmul`` whose ``a`` and ``b`` are both spikes, e.g. STAtten's K^T V):
B is packed and compressed like A (one T-bit word per non-silent neuron, a bitmask); a matched
pair (non-silent A word x non-silent B word) costs one TPPE cycle: the two words are ANDed and
each set bit increments its timestep's accumulator (:mod:`archsim.kernels.spike_matmul` counts
them: metric ``spike_spike_ones``). Energy: ``tppe.and_op`` per pair (``per_op``), or the
join, FIFOs and stream buffer per pair plus one accumulator add per set bit (``per_component``).
"""
from __future__ import annotations

import math
from typing import Literal

import numpy as np
import pydantic

from archsim.arch.base import ActionCounter, OpCost
from archsim.arch.cache_accounting import ElementCacheRates, dram_split, element_counts
from archsim.arch.snn_formats import spike_format_bits
from archsim.arch.spmspm.buffers import buffer_hits, changed
from archsim.arch.spmspm.gemm import GemmView, timestep_planes
from archsim.arch.spmspm.model import SpmspmModel
from archsim.arch.spmspm.params import SpmspmParams
from archsim.arch.spmspm.tile_walk import Fibers, plane_fibers, walk_tiles
from archsim.arch.spmspm.timing import TileTraffic, finish_timing, memory_actions, simple_timing, tile_floors
from archsim.errors import ConfigError
from archsim.kernels.spike_compress import compress_rows
from archsim.kernels.spike_matmul import and_popcount_matmul
from archsim.kernels.tile_schedule import tppe_pipeline

TPPE_PARTS = ("tppe_fast_prefix", "tppe_laggy_prefix", "tppe_pseudo_acc", "tppe_correction_acc",
              "tppe_fifo_mp", "tppe_fifo_b", "tppe_weight_buffer", "tppe_bitmask_reg")


class LoasParams(SpmspmParams):
    pe_split: Literal["m", "n"] = "m"
    loop_order: str = "mntk"
    tile_m: int = pydantic.Field(16, ge=1)
    tile_n: int = pydantic.Field(32, ge=1)
    tile_k: int = pydantic.Field(128, ge=1)
    weight_buffer_entries: int = pydantic.Field(128 * 32, ge=1)
    spike_buffer_entries: int = pydantic.Field(128 * 1024, ge=1)
    strong_silent: bool = pydantic.Field(False, description="neurons firing once are silent too (lossy)")
    word_bits: int | None = pydantic.Field(None, ge=1, description="bits of a packed spike word; null: T")
    inner_join: Literal["ftp", "fast_fast"] = "ftp"
    fifo_depth: int = pydantic.Field(8, ge=1, description="entries of FIFO-mp and FIFO-B")
    laggy_adders: int = pydantic.Field(16, ge=1, description="adders of the laggy prefix sum")
    laggy_lookahead: bool = pydantic.Field(False, description="laggy sum may start one tile early")
    energy_accounting: Literal["per_op", "per_component"] = "per_op"

    @property
    def laggy_cycles(self) -> int:
        return math.ceil(self.tile_k / self.laggy_adders)


class LoasModel(ElementCacheRates, SpmspmModel):
    name = "loas"
    description = "LoAS: temporal-parallel PEs, FTP dataflow, packed spike compression (cycle-level, Numba)"
    Params = LoasParams
    lif_overlapped = True   # P-LIF units fire while the TPPEs work on the next outputs
    packs_spike_b = True    # spike x spike: both operands as packed words, AND + popcount

    def __init__(self, hw):
        super().__init__(hw)
        self._max_t = 1

    @classmethod
    def check(cls, hw) -> None:
        p = hw.params
        if p.timing == "cycle" and p.inner_join == "ftp" and p.pe_split != "m":
            raise ConfigError(f"{hw.path}: params.pe_split: the cycle-level FTP join keeps a spike fiber "
                              "stationary in each TPPE, so it needs pe_split 'm'")

    def instances(self) -> dict[str, float]:
        p, n = self.params, self.params.n_pe
        shared = {"fibercache": 1, "loas_other": 1}
        if p.energy_accounting == "per_op":
            return {"tppe": n, **shared}
        parts = {"tppe_weight_buffer": n, "tppe_bitmask_reg": 2 * n,
                 "tppe_correction_acc": n * self._max_t}        # one accumulator per timestep
        if p.inner_join == "ftp":
            parts.update(tppe_fast_prefix=n, tppe_laggy_prefix=n, tppe_pseudo_acc=n, tppe_fifo_mp=n, tppe_fifo_b=n)
        else:
            parts.update(tppe_fast_prefix=2 * n)
        return {**parts, **shared}

    def view_cost(self, view: GemmView, op) -> OpCost:
        p, T = self.params, view.timesteps
        self._max_t = max(self._max_t, T)
        words = view.words
        M, K = words.shape
        content = None
        if view.spike_input:
            # the compressed fibers: non-silent words only; the flag of a word is its zero bits
            indptr, indices, kept = compress_rows(words, 1 if p.strong_silent else 0, backend=p.kernel_backend)
            counts = np.bitwise_count(kept).astype(np.uint8)
            planes = [Fibers(indptr, indices, (T - counts).astype(np.uint8))]
            x_bits = p.word_bits or T
            if p.buffer_match == "content":     # tiles compare by value: the spike counts, as the authors
                content = np.zeros((1, M, K), dtype=np.uint8)
                content[0, np.repeat(np.arange(M), np.diff(indptr)), indices] = counts
        else:  # multi-bit inputs cannot be packed: one timestep plane at a time, a multiply per match
            planes = plane_fibers(words, T, backend=p.kernel_backend)
            x_bits = view.input_bits
            if p.buffer_match == "content":
                content = timestep_planes(words, T)
        nnz = sum(f.nnz for f in planes)
        wb = view.weight_bits
        walk = walk_tiles(planes, M, K, view.weights, p, content)
        loads = walk.loads
        ops = float(loads.sum())

        miss_w = ~buffer_hits(walk.w_id, walk.w_nnz, p.weight_buffer_entries, p.kernel_backend)
        miss_x = ~buffer_hits(walk.x_id, walk.x_nnz, p.spike_buffer_entries, p.kernel_backend)
        w_fill = (walk.w_nnz * wb + walk.w_numel) * miss_w
        x_fill = (walk.x_nnz * x_bits + walk.x_numel) * miss_x
        x_changed = changed(walk.x_id)
        w_bcast = walk.w_nnz * wb + walk.w_numel
        x_bcast = walk.x_numel * x_changed
        x_reads = x_bits * loads.sum(axis=1)
        writeback = float(nnz) * x_bits + M * K * len(planes)
        traffic = TileTraffic(sram_read=(w_bcast + x_bcast + x_reads).astype(float),
                              sram_write=(w_fill + x_fill).astype(float),
                              dram_read=(w_fill + x_fill).astype(float),
                              dram_write=np.zeros(walk.n_tiles), layer_dram_write=writeback)

        if view.spike_weights:
            return self._spike_spike_cost(view, walk, traffic, x_changed, miss_w, miss_x, w_fill, x_fill,
                                          writeback, (indptr, indices, kept))
        laggy = p.laggy_cycles
        if p.timing == "cycle" and p.inner_join == "ftp":
            floors = tile_floors(traffic, p, self.clock_mhz)
            tiles, drain, stall = tppe_pipeline(loads, floors, p.fifo_depth, laggy, p.laggy_lookahead,
                                                backend=p.kernel_backend)
            timing = finish_timing(float(tiles.sum()), float(loads.max(axis=1, initial=0).sum()), traffic, p,
                                   self.clock_mhz, fifo_stall=float(stall), drain=float(drain))
        else:
            timing = simple_timing(walk, traffic, p, self.clock_mhz)

        acts = ActionCounter()
        corrections = float(walk.flagged.sum())
        if p.energy_accounting == "per_op":
            acts.add("tppe", "op" if view.spike_input else "mac", ops)
        else:
            busy_pe_tiles = float(np.count_nonzero(loads))
            stationary, streamed = ((x_changed * walk.x_rows, walk.x_rows * walk.w_nzcols) if p.pe_split == "m"
                                    else (changed(walk.w_id) * walk.w_cols, walk.w_cols * walk.x_rows))
            acts.add("tppe_weight_buffer", "access", ops)
            acts.add("tppe_bitmask_reg", "load", float(stationary.sum() + streamed.sum()))
            if p.inner_join == "ftp":
                acts.add("tppe_fast_prefix", "use", ops)
                acts.add("tppe_pseudo_acc", "add", ops)
                acts.add("tppe_correction_acc", "add", corrections)
                acts.add("tppe_laggy_prefix", "cycle", laggy * busy_pe_tiles)
                acts.add("tppe_fifo_mp", "access", ops)
                acts.add("tppe_fifo_b", "access", ops)
            else:
                acts.add("tppe_fast_prefix", "use", 2 * ops)
                acts.add("tppe_correction_acc", "add", ops * T - corrections if view.spike_input else ops)
            if not view.spike_input:
                acts.add("tppe", "multiply", ops)
        traffic_bytes = memory_actions(acts, traffic)

        metrics = {
            "effectual_ops": ops, "compute_cycles": timing.compute_cycles,
            "imbalance_cycles": timing.compute_cycles - ops / p.n_pe,
            "bandwidth_stall_cycles": timing.bandwidth_stall_cycles, "fifo_stall_cycles": timing.fifo_stall_cycles,
            "drain_cycles": timing.drain_cycles, "fill_cycles": timing.fill_cycles,
            "correction_adds": corrections, "tiles": float(walk.n_tiles),
            "buffer_misses_w": float(miss_w.sum()), "buffer_misses_x": float(miss_x.sum()),
            "dram_bytes.weights": float(w_fill.sum()) / 8, "dram_bytes.spikes": float(x_fill.sum()) / 8,
            "dram_bytes.writeback": writeback / 8,
            "neurons": float(words.size), "silent_neurons": float(words.size - nnz) if view.spike_input else 0.0,
            **self._accounting(walk, miss_w, miss_x, wb, x_bits, float(nnz) * x_bits, M * K * len(planes)),
        }
        if view.spike_input:
            metrics.update({f"spike_bits.{k}": v for k, v in spike_format_bits(
                words, T, None if p.strong_silent else kept, p.kernel_backend).items()})
        return OpCost(cycles=timing.cycles, actions=acts.as_dict(), traffic_bytes=traffic_bytes,
                      macs_effectual=ops, utilization=ops / (p.n_pe * timing.cycles) if timing.cycles else 0.0,
                      metrics=metrics)

    @staticmethod
    def _accounting(walk, miss_w, miss_x, w_bits: int, x_bits: int, writeback_values: float,
                    writeback_meta: float) -> dict[str, float]:
        """Element-level hits/misses (elements: nonzero weights, packed non-silent words) and the
        DRAM value/metadata split (metadata: the bitmasks)."""
        return {**element_counts("weight", walk.w_nnz, miss_w), **element_counts("spike", walk.x_nnz, miss_x),
                **dram_split(weights=((walk.w_nnz * w_bits * miss_w).sum(), (walk.w_numel * miss_w).sum()),
                             spikes=((walk.x_nnz * x_bits * miss_x).sum(), (walk.x_numel * miss_x).sum()),
                             writeback=(writeback_values, writeback_meta))}

    def _spike_spike_cost(self, view: GemmView, walk, traffic: TileTraffic, x_changed, miss_w, miss_x,
                          w_fill, x_fill, writeback: float, fibers) -> OpCost:
        """A spike x spike product (both operands packed words): a matched pair is a non-silent A
        word meeting a non-silent B word; the TPPE ANDs the two words and adds each set bit to
        its timestep's accumulator, one pair per cycle. No speculation: no laggy prefix sum, no
        pseudo-accumulator, no correction path. The B words stream like weights
        (``weight_bits`` = the word's T bits)."""
        p, T = self.params, view.timesteps
        walk_indptr, walk_indices, kept = fibers
        loads = walk.loads
        pairs = float(loads.sum())
        words = view.words
        if p.strong_silent:   # the words dropped by the compression take no part
            rows = np.repeat(np.arange(words.shape[0]), np.diff(walk_indptr))
            words = np.zeros_like(view.words)
            words[rows, walk_indices] = kept
        values = and_popcount_matmul(words, view.weights, backend=p.kernel_backend)
        ones = float(values.sum())               # bit products that were 1: accumulator increments
        timing = simple_timing(walk, traffic, p, self.clock_mhz)
        acts = ActionCounter()
        if p.energy_accounting == "per_op":
            acts.add("tppe", "and_op", pairs)
        else:
            stationary, streamed = ((x_changed * walk.x_rows, walk.x_rows * walk.w_nzcols) if p.pe_split == "m"
                                    else (changed(walk.w_id) * walk.w_cols, walk.w_cols * walk.x_rows))
            acts.add("tppe_fast_prefix", "use", pairs)          # the join of the two bitmasks
            acts.add("tppe_fifo_mp", "access", pairs)
            acts.add("tppe_fifo_b", "access", pairs)            # the matched B word
            acts.add("tppe_weight_buffer", "access", pairs)
            acts.add("tppe_correction_acc", "add", ones)        # the T accumulators count the AND's set bits
            acts.add("tppe_bitmask_reg", "load", float(stationary.sum() + streamed.sum()))
        traffic_bytes = memory_actions(acts, traffic)
        M, K = view.words.shape
        metrics = {
            "effectual_ops": pairs, "compute_cycles": timing.compute_cycles,
            "imbalance_cycles": timing.compute_cycles - pairs / p.n_pe,
            "bandwidth_stall_cycles": timing.bandwidth_stall_cycles, "fifo_stall_cycles": 0.0,
            "drain_cycles": 0.0, "fill_cycles": timing.fill_cycles,
            "correction_adds": 0.0, "tiles": float(walk.n_tiles),
            "buffer_misses_w": float(miss_w.sum()), "buffer_misses_x": float(miss_x.sum()),
            "dram_bytes.weights": float(w_fill.sum()) / 8, "dram_bytes.spikes": float(x_fill.sum()) / 8,
            "dram_bytes.writeback": writeback / 8,
            "neurons": float(view.words.size), "silent_neurons": float(view.words.size - len(kept)),
            "spike_spike_ones": ones,
            **self._accounting(walk, miss_w, miss_x, view.weight_bits, p.word_bits or T, float(len(kept)) * (p.word_bits or T),
                               M * K),
        }
        metrics.update({f"spike_bits.{k}": v for k, v in spike_format_bits(
            view.words, T, None if p.strong_silent else kept, p.kernel_backend).items()})
        return OpCost(cycles=timing.cycles, actions=acts.as_dict(), traffic_bytes=traffic_bytes,
                      macs_effectual=pairs, utilization=pairs / (p.n_pe * timing.cycles) if timing.cycles else 0.0,
                      metrics=metrics)
