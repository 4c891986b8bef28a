"""Compatibility: the names of the former ``spmspm_common`` module, now in :mod:`archsim.arch.spmspm`
(one module per concept). Import from there; this module goes once every user has moved."""
from __future__ import annotations

from archsim.arch.spmspm.params import AXES, SpmspmParams  # noqa: F401
from archsim.arch.spmspm.gemm import GemmView, _operand_names, _as_words, gemm_views, timestep_planes, is_gemm  # noqa: F401
from archsim.arch.spmspm.tile_walk import TileWalk, Fibers, _tile_ids, _extent, walk_tiles, plane_fibers, SerialWalk, serial_walk  # noqa: F401
from archsim.arch.spmspm.buffers import buffer_hits, changed  # noqa: F401
from archsim.arch.spmspm.timing import bits_per_cycle, floor_cycles, TileTraffic, Timing, tile_floors, simple_timing, finish_timing, memory_actions  # noqa: F401
from archsim.arch.spmspm.model import vector_op, combine, SpmspmModel  # noqa: F401
