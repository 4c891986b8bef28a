"""``gamma``: Gamma-S, the Gamma row-wise (Gustavson) accelerator (Zhang et al., ASPLOS 2021)
running an SNN the way the LoAS paper adapts it: adders instead of multipliers, one timestep at
a time. See docs/models/baselines.md.

* **Dataflow.** Tile loops ``m, k, t, n``: an A tile of one timestep's plane, 16 rows x 64
  positions (one row per PE), a B tile of 64 rows x 64 columns. For each spike of its row a PE
  fetches the matching B row and merges it into the output row (a high-radix merger): one
  matched pair per cycle.
* **Format.** Coordinates (``coord_bits``) for spikes and weights, as Gamma's CSR fibers.
* **Traffic** (bits, the authors' accounting): the previous layer's spike coordinates
  ``nnz*coord_bits`` once; a missing weight tile ``nnz*(8 + coord_bits)``, a missing spike tile
  ``nnz*(1 + coord_bits)``; per PE and tile the B tile ``nnz*(8 + coord_bits)`` and the PE's
  spike row ``nnz*(1 + coord_bits)``; partial output rows: per PE and tile one read and one
  write of ``psum_bits`` per nonzero column of the B tile, in the buffer, and a fraction
  ``psum_dram_fraction`` of them also off chip (the authors' (T-3)/T with T = 4: a partial-row
  buffer catches the rest).
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


class GammaParams(SpmspmParams):
    pe_split: Literal["m", "n"] = "m"
    loop_order: str = "mktn"
    tile_m: int = pydantic.Field(16, ge=1)
    tile_n: int = pydantic.Field(64, ge=1)
    tile_k: int = pydantic.Field(64, ge=1)
    weight_buffer_entries: int = pydantic.Field(256 * 512, ge=1)
    spike_buffer_entries: int = pydantic.Field(32 * 256, ge=1)
    coord_bits: int = pydantic.Field(6, ge=1, description="bits of a coordinate (spikes and weights)")
    psum_bits: int = pydantic.Field(8, ge=1, description="bits of a partial sum")
    psum_dram_fraction: float = pydantic.Field(0.25, ge=0, le=1, description="share of partial-sum traffic that reaches DRAM")


class GammaModel(ElementCacheRates, SpmspmModel):
    name = "gamma"
    description = "Gamma-S: row-wise (Gustavson) spMspM with mergers, timesteps in sequence (LoAS's baseline)"
    Params = GammaParams

    def instances(self) -> dict[str, float]:
        return {"gamma_pe": self.params.n_pe, "gamma_cache": 1}

    def view_cost(self, view: GemmView, op) -> OpCost:
        p, wb, cb = self.params, view.weight_bits, self.params.coord_bits
        walk, miss_w, miss_x, x_bits, nnz = serial_walk(view, p)
        w_fill = walk.w_nnz * (wb + cb) * miss_w
        x_fill = walk.x_nnz * (x_bits + cb) * miss_x
        psum = walk.x_rows * walk.w_nzcols * p.psum_bits           # per direction
        psum_dram = psum * p.psum_dram_fraction
        sram_read = walk.x_rows * walk.w_nnz * (wb + cb) + walk.x_nnz * (x_bits + cb) + psum
        writeback = float(nnz) * cb
        traffic = TileTraffic(sram_read=sram_read.astype(float), sram_write=(w_fill + x_fill + psum).astype(float),
                              dram_read=(w_fill + x_fill + psum_dram).astype(float), dram_write=psum_dram.astype(float),
                              layer_dram_write=writeback)
        return baseline_cost(walk, traffic, p, self.clock_mhz, "gamma_pe", view.spike_input, {
            "buffer_misses_w": float(miss_w.sum()), "buffer_misses_x": float(miss_x.sum()),
            "dram_bytes.weights": float(w_fill.sum()) / 8, "dram_bytes.spikes": float(x_fill.sum()) / 8,
            "dram_bytes.psums": float(2 * psum_dram.sum()) / 8, "dram_bytes.writeback": writeback / 8,
            # both operands by coordinates (metadata) plus values; the write-back is coordinates only
            **element_counts("weight", walk.w_nnz, miss_w), **element_counts("spike", walk.x_nnz, miss_x),
            **dram_split(weights=((walk.w_nnz * wb * miss_w).sum(), (walk.w_nnz * cb * miss_w).sum()),
                         spikes=((walk.x_nnz * x_bits * miss_x).sum(), (walk.x_nnz * cb * miss_x).sum()),
                         psums=(2 * psum_dram.sum(), 0.0), writeback=(0.0, writeback))})
