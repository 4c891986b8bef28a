"""The parameters every dual-sparse spMspM model shares (LoAS and its baselines; see
docs/models/loas.md): PE array, tile sizes, loop order, buffers, timing mode, bandwidths."""
from __future__ import annotations

from typing import Literal

import pydantic

from archsim.arch.vector_ops import OpsPerElement, default_ops_per_element
from archsim.config.validation import Strict


AXES = {"t": 0, "m": 1, "n": 2, "k": 3}


class SpmspmParams(Strict):
    """Parameters every dual-sparse spMspM model shares (see docs/models/loas.md)."""

    n_pe: int = pydantic.Field(16, ge=1, description="PEs; also the tile size along pe_split")
    pe_split: Literal["m", "n"] = pydantic.Field(description="dimension the PEs split")
    loop_order: str = pydantic.Field(description="tile loops outer->inner, a permutation of 'tmnk'")
    tile_m: int = pydantic.Field(ge=1, description="rows of A per tile")
    tile_n: int = pydantic.Field(ge=1, description="columns of B per tile")
    tile_k: int = pydantic.Field(ge=1, description="reduction positions per tile (bitmask chunk)")
    weight_buffer_entries: int = pydantic.Field(ge=1, description="weight buffer capacity, nonzeros")
    spike_buffer_entries: int = pydantic.Field(ge=1, description="spike buffer capacity, nonzeros")
    buffer_match: Literal["content", "address"] = pydantic.Field(
        "content", description="a resident tile hits if equal in content (authors' model) or in coordinates")
    timing: Literal["paper", "cycle"] = pydantic.Field(
        "paper", description="paper: a tile lasts its busiest PE's matches; cycle: + pipeline and bandwidth stalls")
    weight_bits: int | None = pydantic.Field(8, ge=1, description="bits per weight value; null: the trace's")
    sram_read_bits_per_cycle: float | None = pydantic.Field(None, gt=0, description="null: unlimited")
    sram_write_bits_per_cycle: float | None = pydantic.Field(None, gt=0, description="null: unlimited")
    dram_bandwidth_gbps: float | None = pydantic.Field(None, gt=0, description="null: unlimited")
    pipeline_fill_cycles: int = pydantic.Field(0, ge=0, description="cycles added per GEMM (cycle timing)")
    vector_lanes: int = pydantic.Field(16, ge=1, description="lanes of the neuron/vector unit")
    pe_scheduling: Literal["static", "dynamic"] = pydantic.Field(
        "static", description="static: PE p owns row/column p of the tile; dynamic: the tile's (row, column) "
        "jobs go to the least-loaded PE (an upper bound on what balancing recovers)")
    kernel_backend: Literal["numba", "reference"] = pydantic.Field(
        "numba", description="run the kernels' numpy references instead (tests, benchmarks)")
    ops_per_element: OpsPerElement = pydantic.Field(default_factory=default_ops_per_element)

    @pydantic.field_validator("loop_order")
    @classmethod
    def _loop_order(cls, value: str) -> str:
        if sorted(value) != sorted("tmnk"):
            raise ValueError(f"loop_order must be a permutation of 'tmnk', got {value!r}")
        return value

    @pydantic.model_validator(mode="after")
    def _dynamic_chunks(self):
        if self.pe_scheduling == "dynamic" and self.tile_k % 64:
            raise ValueError(f"pe_scheduling 'dynamic' counts jobs with 64-bit bitmask words: tile_k "
                             f"({self.tile_k}) must be a multiple of 64")
        return self

    @pydantic.model_validator(mode="after")
    def _pe_tile(self):
        along = self.tile_m if self.pe_split == "m" else self.tile_n
        if along != self.n_pe:
            raise ValueError(f"tile_{self.pe_split} ({along}) must equal n_pe ({self.n_pe}): "
                             "each PE owns one row/column of the tile")
        return self
