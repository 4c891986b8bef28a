"""``gospa``: GoSPA-S, the GoSPA outer-product accelerator (Deng et al., ISCA 2021) running an
SNN the way the LoAS paper adapts it: adders instead of multipliers, one timestep at a time.
See docs/models/baselines.md.

* **Dataflow.** Tile loops ``k, n, t, m``: a B tile of 256 positions x 16 columns (one column per
  PE), an A tile of one timestep's plane, 64 rows x 256 positions, streamed to all PEs as
  coordinates. Each PE intersects its static weight column with the dynamic spike stream.
* **Format.** Spikes as coordinates (``coord_bits`` per spike, plus the spike bit); weights
  bitmask + values.
* **Traffic** (bits, the authors' accounting): the previous layer's spike coordinates
  ``nnz*coord_bits`` once; a missing weight tile ``nnz*8 + numel``, a missing spike tile
  ``nnz*(1 + coord_bits)``; per tile the spike stream ``nnz*(1 + coord_bits)`` and each PE's
  weight column ``nnz*8 + numel``; and the outer-product partial sums, which go off chip: per
  PE and tile, one read and one write of ``psum_bits`` for each of the tile's rows.
"""
from __future__ import annotations

from typing import Literal

import pydantic

from archsim.arch.base import OpCost
from archsim.arch.cache_accounting import ElementCacheRates, dram_split, element_counts
from archsim.arch.spmspm.baseline import baseline_cost
from archsim.arch.spmspm.gemm import GemmView
from archsim.arch.spmspm.model import SpmspmModel
from archsim.arch.spmspm.params import SpmspmParams
from archsim.arch.spmspm.tile_walk import serial_walk
from archsim.arch.spmspm.timing import TileTraffic


class GospaParams(SpmspmParams):
    pe_split: Literal["m", "n"] = "n"
    loop_order: str = "kntm"
    tile_m: int = pydantic.Field(64, ge=1)
    tile_n: int = pydantic.Field(16, ge=1)
    tile_k: int = pydantic.Field(256, ge=1)
    weight_buffer_entries: int = pydantic.Field(256 * 4 * 16, ge=1)
    spike_buffer_entries: int = pydantic.Field(2720 * 64, ge=1)
    coord_bits: int = pydantic.Field(8, ge=1, description="bits of a spike coordinate")
    psum_bits: int = pydantic.Field(8, ge=1, description="bits of a partial sum moved to/from DRAM")


class GospaModel(ElementCacheRates, SpmspmModel):
    name = "gospa"
    description = "GoSPA-S: outer-product spMspM with on-the-fly intersection, timesteps in sequence (LoAS's baseline)"
    Params = GospaParams

    def instances(self) -> dict[str, float]:
        return {"gospa_pe": self.params.n_pe, "gospa_cache": 1}

    def view_cost(self, view: GemmView, op) -> OpCost:
        p, wb, cb = self.params, view.weight_bits, self.params.coord_bits
        walk, miss_w, miss_x, x_bits, nnz = serial_walk(view, p)
        w_fill = (walk.w_nnz * wb + walk.w_numel) * miss_w
        x_fill = walk.x_nnz * (x_bits + cb) * miss_x
        psum = walk.w_cols * walk.x_rows * p.psum_bits            # per direction
        sram_read = walk.x_nnz * (x_bits + cb) + walk.w_nnz * wb + walk.w_numel
        writeback = float(nnz) * cb
        traffic = TileTraffic(sram_read=sram_read.astype(float), sram_write=(w_fill + x_fill).astype(float),
                              dram_read=(w_fill + x_fill + psum).astype(float), dram_write=psum.astype(float),
                              layer_dram_write=writeback)
        return baseline_cost(walk, traffic, p, self.clock_mhz, "gospa_pe", view.spike_input, {
            "buffer_misses_w": float(miss_w.sum()), "buffer_misses_x": float(miss_x.sum()),
            "dram_bytes.weights": float(w_fill.sum()) / 8, "dram_bytes.spikes": float(x_fill.sum()) / 8,
            "dram_bytes.psums": float(2 * psum.sum()) / 8, "dram_bytes.writeback": writeback / 8,
            # spikes by coordinates (metadata) plus their value bit; the write-back is coordinates only
            **element_counts("weight", walk.w_nnz, miss_w), **element_counts("spike", walk.x_nnz, miss_x),
            **dram_split(weights=((walk.w_nnz * wb * miss_w).sum(), (walk.w_numel * miss_w).sum()),
                         spikes=((walk.x_nnz * x_bits * miss_x).sum(), (walk.x_nnz * cb * miss_x).sum()),
                         psums=(2 * psum.sum(), 0.0), writeback=(0.0, writeback))})
