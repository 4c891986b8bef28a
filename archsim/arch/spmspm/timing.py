"""Traffic and timing of one GEMM view: bits moved per tile, bandwidth floors, the paper and
cycle timings, and traffic as SRAM/DRAM actions."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from archsim.arch.base import ActionCounter
from archsim.arch.spmspm.params import SpmspmParams
from archsim.arch.spmspm.tile_walk import TileWalk


def bits_per_cycle(gbps: float | None, clock_mhz: float) -> float | None:
    return None if gbps is None else gbps * 8e9 / (clock_mhz * 1e6)


def floor_cycles(bits: np.ndarray, per_cycle: float | None) -> np.ndarray:
    return np.zeros_like(bits, dtype=float) if per_cycle is None else np.asarray(bits, dtype=float) / per_cycle


@dataclass
class TileTraffic:
    """Bits moved, per tile (arrays) and once per layer (scalars), plus a named breakdown in
    bits for the metrics. DRAM reads fill the SRAM (counted as SRAM writes by the models)."""

    sram_read: np.ndarray
    sram_write: np.ndarray
    dram_read: np.ndarray
    dram_write: np.ndarray
    layer_dram_read: float = 0.0
    layer_dram_write: float = 0.0
    streams: dict[str, float] | None = None

    def totals(self) -> dict[str, float]:
        return {"sram_read": float(self.sram_read.sum()), "sram_write": float(self.sram_write.sum()),
                "dram_read": float(self.dram_read.sum() + self.layer_dram_read),
                "dram_write": float(self.dram_write.sum() + self.layer_dram_write)}


@dataclass
class Timing:
    cycles: float
    compute_cycles: float        # sum over tiles of the busiest PE's matched pairs (the paper's count)
    bandwidth_stall_cycles: float = 0.0
    fifo_stall_cycles: float = 0.0
    drain_cycles: float = 0.0
    fill_cycles: float = 0.0


def tile_floors(traffic: TileTraffic, p: SpmspmParams, clock_mhz: float) -> np.ndarray:
    """The shortest each tile can last given the SRAM and DRAM bandwidths (its transfers overlap
    the previous tile's compute: double buffering)."""
    dram = bits_per_cycle(p.dram_bandwidth_gbps, clock_mhz)
    return np.maximum.reduce([floor_cycles(traffic.sram_read, p.sram_read_bits_per_cycle),
                              floor_cycles(traffic.sram_write, p.sram_write_bits_per_cycle),
                              floor_cycles(traffic.dram_read + traffic.dram_write, dram)])


def simple_timing(walk: TileWalk, traffic: TileTraffic, p: SpmspmParams, clock_mhz: float) -> Timing:
    """One matched pair per PE per cycle; a tile lasts its busiest PE (paper timing), or at least
    its bandwidth floor (cycle timing), plus the pipeline fill and a layer-level DRAM roofline."""
    busiest = walk.loads.max(axis=1, initial=0).astype(float)
    compute = float(busiest.sum())
    if p.timing == "paper":
        return Timing(cycles=compute, compute_cycles=compute)
    tiles = np.maximum(busiest, np.ceil(tile_floors(traffic, p, clock_mhz)))
    return finish_timing(float(tiles.sum()), compute, traffic, p, clock_mhz)


def finish_timing(tile_cycles: float, compute: float, traffic: TileTraffic, p: SpmspmParams,
                  clock_mhz: float, fifo_stall: float = 0.0, drain: float = 0.0) -> Timing:
    cycles = tile_cycles + drain + p.pipeline_fill_cycles
    per = bits_per_cycle(p.dram_bandwidth_gbps, clock_mhz)
    if per is not None:
        t = traffic.totals()
        cycles = max(cycles, math.ceil((t["dram_read"] + t["dram_write"]) / per))
    return Timing(cycles=cycles, compute_cycles=compute,
                  bandwidth_stall_cycles=cycles - compute - fifo_stall - drain - p.pipeline_fill_cycles,
                  fifo_stall_cycles=fifo_stall, drain_cycles=drain, fill_cycles=float(p.pipeline_fill_cycles))


def memory_actions(acts: ActionCounter, traffic: TileTraffic) -> dict[str, float]:
    """SRAM/DRAM read and write bits as actions; returns bytes per level."""
    t = traffic.totals()
    acts.add("sram", "read_bit", t["sram_read"])
    acts.add("sram", "write_bit", t["sram_write"])
    acts.add("dram", "read_bit", t["dram_read"])
    acts.add("dram", "write_bit", t["dram_write"])
    return {"dram": (t["dram_read"] + t["dram_write"]) / 8, "sram": (t["sram_read"] + t["sram_write"]) / 8}
