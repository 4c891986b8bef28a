"""``sparten``: SparTen-S, the SparTen inner-product accelerator (Gondimalla et al., MICRO 2019)
running an SNN the way the LoAS paper adapts it: multipliers removed (a spike only adds), one
timestep at a time. See docs/models/baselines.md.

* **Dataflow.** Tile loops ``n, m, t, k``: a B tile of 128 positions x 16 columns (one column per
  PE), an A tile of one timestep's spike plane, 32 rows x 128 positions, shared by all PEs. A PE
  joins its weight column's bitmask with each spike row (a fast prefix sum locates the weight)
  and adds one matched weight per cycle.
* **Format.** Spikes stay dense, one bit per neuron per timestep: the spike plane is its own
  bitmask. Weights: bitmask + nonzero values.
* **Traffic** (bits, the authors' accounting): the previous layer's spikes ``T*M*K`` once; a
  missing weight tile ``nnz*8 + numel``, a missing spike tile ``numel``; per tile the spike tile
  ``numel`` and, when the B tile changes, its bitmask ``numel``; 8 bits per matched pair (the
  weight read).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import pydantic

from archsim.arch.base import OpCost
from archsim.arch.cache_accounting import ElementCacheRates, dram_split, element_counts
from archsim.arch.spmspm.baseline import baseline_cost
from archsim.arch.spmspm.buffers import changed
from archsim.arch.spmspm.gemm import GemmView
from archsim.arch.spmspm.model import SpmspmModel
from archsim.arch.spmspm.params import SpmspmParams
from archsim.arch.spmspm.tile_walk import serial_walk
from archsim.arch.spmspm.timing import TileTraffic


class SpartenParams(SpmspmParams):
    pe_split: Literal["m", "n"] = "n"
    loop_order: str = "nmtk"
    tile_m: int = pydantic.Field(32, ge=1)
    tile_n: int = pydantic.Field(16, ge=1)
    tile_k: int = pydantic.Field(128, ge=1)
    weight_buffer_entries: int = pydantic.Field(128 * 1024, ge=1)
    spike_buffer_entries: int = pydantic.Field(128 * 32 * 4, ge=1)


class SpartenModel(ElementCacheRates, SpmspmModel):
    name = "sparten"
    description = "SparTen-S: bitmask inner-product spMspM, timesteps one after another (LoAS's baseline)"
    Params = SpartenParams

    def instances(self) -> dict[str, float]:
        return {"sparten_pe": self.params.n_pe, "sparten_cache": 1}

    def view_cost(self, view: GemmView, op) -> OpCost:
        p, T, wb = self.params, view.timesteps, view.weight_bits
        M, K = view.words.shape
        walk, miss_w, miss_x, x_bits, nnz = serial_walk(view, p)
        w_fill = (walk.w_nnz * wb + walk.w_numel) * miss_w
        x_fill = walk.x_numel * x_bits * miss_x
        sram_read = walk.x_numel * x_bits + walk.w_numel * changed(walk.w_id) + wb * walk.loads.sum(axis=1)
        writeback = float(T * M * K) * x_bits
        traffic = TileTraffic(sram_read=sram_read.astype(float), sram_write=(w_fill + x_fill).astype(float),
                              dram_read=(w_fill + x_fill).astype(float), dram_write=np.zeros(walk.n_tiles),
                              layer_dram_write=writeback)
        return baseline_cost(walk, traffic, p, self.clock_mhz, "sparten_pe", view.spike_input, {
            "buffer_misses_w": float(miss_w.sum()), "buffer_misses_x": float(miss_x.sum()),
            "dram_bytes.weights": float(w_fill.sum()) / 8, "dram_bytes.spikes": float(x_fill.sum()) / 8,
            "dram_bytes.writeback": writeback / 8,
            # dense spikes: every position is an element and a value; weights: bitmask metadata
            **element_counts("weight", walk.w_nnz, miss_w), **element_counts("spike", walk.x_numel, miss_x),
            **dram_split(weights=((walk.w_nnz * wb * miss_w).sum(), (walk.w_numel * miss_w).sum()),
                         spikes=(x_fill.sum(), 0.0), writeback=(writeback, 0.0))})
