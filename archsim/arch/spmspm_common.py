"""What LoAS and its dual-sparse baselines share: the GEMM view of an SNN layer, the tile walk
of a tiled spMspM on a PE array, the whole-tile buffers, and the vector unit for non-GEMM ops.

**GEMM view.** A conv/linear/matmul op becomes, per group, spike words ``[M, K]`` (bit t =
input neuron fired at timestep t; im2col for convolutions) times weights ``B [K, N]``. An
operand that is not a spike (multi-bit activations, e.g. the analog encoding layer) gets words
whose bit t says "nonzero at t"; such a layer cannot use temporal packing and runs one
timestep plane at a time. A matmul whose B operand varies with t runs one view per timestep.

**Tile walk** (:func:`walk_tiles`). Four tile loops over t, m, n, k in a given order (outer to
inner). The A tile is ``tile_m x tile_k`` of one plane (a timestep, or the packed words), the B
tile ``tile_k x tile_n``. The PE array splits one dimension: with ``pe_split = m`` PE p takes row
p of the A tile against the whole B tile (LoAS, Gamma); with ``n`` PE p takes column p of the B
tile against the whole A tile (SparTen, GoSPA). A PE performs one matched pair per cycle, so its
load in a tile is the number of matched pairs it owns (:mod:`archsim.kernels.pair_counts`);
edge tiles are clipped as in the authors' simulator. The walk returns, per tile in execution
order: the PE loads, the nonzeros and sizes of the A and B tiles, and tile ids for the buffers.

**Buffers** (:func:`buffer_hits`): one FIFO buffer per operand holding whole tiles, capacity in
entries (nonzeros); a tile hits when an identical tile (``content``: same values, as the
authors' simulator compares tensors; ``address``: same coordinates) is resident.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple

import numpy as np
import pydantic

from archsim.arch.base import ActionCounter, HardwareModel, OpContext, OpCost
from archsim.config.validation import Strict
from archsim.errors import TraceError
from archsim.kernels.innerjoin import join_counts
from archsim.kernels.pair_counts import pe_loads
from archsim.kernels.spike_compress import compress_rows
from archsim.kernels.tile_stats import weight_tiles
from archsim.kernels.tile_schedule import fifo_buffer_hits, list_schedule_loads
from archsim.arch.vector_ops import OpsPerElement, default_ops_per_element, vector_ops
from archsim.trace.im2col import im2col
from archsim.trace.packing import pack_spikes
from archsim.trace.schema import GEMM_KINDS, OP_KINDS, Role

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


# --- the GEMM view of an op ------------------------------------------------------------------------

@dataclass
class GemmView:
    """One product: ``words [M, K]`` (bit t = input nonzero at timestep t) times ``weights [K, N]``."""

    words: np.ndarray
    weights: np.ndarray
    timesteps: int
    spike_input: bool          # False: multi-bit activations (each match is a multiply)
    weight_bits: int
    input_bits: int            # bits of one input value (1 for spikes)
    spike_weights: bool = False  # B is packed spike words too (spike x spike: AND and popcount)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.words.shape[0], self.weights.shape[1], self.words.shape[1]


def _operand_names(op) -> tuple[str, str]:
    return ("a", "b") if op.kind == "matmul" else ("input", "weight")


def _as_words(tensor: np.ndarray, operand, T: int) -> np.ndarray:
    """Per-neuron words of an operand tensor: spikes packed; other tensors' nonzero pattern."""
    if operand.role == Role.spike:
        return pack_spikes(tensor)
    if T > 1 and tensor.shape[0] == T and tensor.ndim == len(operand.shape) + 1:
        return pack_spikes((tensor != 0).astype(np.uint8))
    return pack_spikes((tensor != 0).astype(np.uint8)[None].repeat(T, axis=0))


def gemm_views(op, ctx: OpContext, weight_bits: int | None, pack_spike_b: bool = False) -> list[GemmView]:
    """The GEMM views of a conv2d / linear / matmul op (one per group or batch entry).

    A matmul whose ``a`` and ``b`` are both spikes: with ``pack_spike_b`` (a temporal-parallel
    engine) B becomes packed words too (``spike_weights``, ``weight_bits`` = the word's T bits),
    one view per batch entry; otherwise one single-timestep view per t with B's 0/1 plane as
    1-bit weights."""
    a_name, b_name = _operand_names(op)
    if not (op.has_operand(a_name) and op.has_operand(b_name)):
        raise TraceError(f"op {op.id}: a dual-sparse model needs operands '{a_name}' and '{b_name}' "
                         f"with statistics or tensors")
    a_op, b_op = op.operand(a_name), op.operand(b_name)
    T = op.timesteps
    a = ctx.tensor(op, a_op)
    b = np.asarray(ctx.tensor(op, b_op))
    words = _as_words(np.asarray(a), a_op, T)
    spike_input = a_op.role == Role.spike
    spike_b = b_op.role == Role.spike
    bits = 1 if spike_b else (weight_bits or b_op.bits)
    in_bits = a_op.bits
    g = op.gemm
    if op.kind == "conv2d":
        cols = im2col(words, op)                                    # [groups, M, K]
        w = b.reshape(op.out_channels, -1)                          # [O, C/g*kh*kw]
        return [GemmView(cols[i], np.ascontiguousarray(w[i * g.N:(i + 1) * g.N].T), T, spike_input, bits,
                         in_bits)
                for i in range(g.groups)]
    if op.kind == "linear":
        return [GemmView(words.reshape(g.M, g.K), np.ascontiguousarray(b.reshape(g.N, g.K).T), T,
                         spike_input, bits, in_bits)]
    # matmul: a [..., M, K] words; b [batch, K, N], or [T, batch, K, N] when it varies with t
    a_words = words.reshape(g.groups, g.M, g.K)
    if spike_input and spike_b and pack_spike_b:
        b_words = pack_spikes(b).reshape(g.groups, g.K, g.N)
        return [GemmView(a_words[i], b_words[i], T, True, T, 1, spike_weights=True) for i in range(g.groups)]
    varies = b_op.role in (Role.spike, Role.activation) and T > 1 and b.ndim == len(b_op.shape) + 1
    if not varies:
        b = b.reshape(g.groups, g.K, g.N)
        return [GemmView(a_words[i], b[i], T, spike_input, bits, in_bits) for i in range(g.groups)]
    b = b.reshape(T, g.groups, g.K, g.N)
    views = []
    for t in range(T):   # B changes every timestep: one single-timestep product per t
        plane = ((a_words >> a_words.dtype.type(t)) & a_words.dtype.type(1)).astype(np.uint8)
        views += [GemmView(plane[i], b[t, i], 1, spike_input, bits, in_bits) for i in range(g.groups)]
    return views


def timestep_planes(words: np.ndarray, timesteps: int) -> np.ndarray:
    """``[M, K]`` words -> ``[T, M, K]`` 0/1 planes (bit t of each word)."""
    one = words.dtype.type(1)
    return np.stack([((words >> words.dtype.type(t)) & one).astype(np.uint8) for t in range(timesteps)])


# --- the tile walk ---------------------------------------------------------------------------------

@dataclass
class TileWalk:
    """Per tile, in execution order. ``loads`` [tiles, n_pe]; the rest [tiles]."""

    loads: np.ndarray          # matched pairs of each PE
    flagged: np.ndarray        # of which the A value was flagged (LoAS: word not all ones)
    x_nnz: np.ndarray          # nonzeros of the A tile
    x_numel: np.ndarray        # positions of the A tile (its bitmask bits)
    x_rows: np.ndarray         # rows of the A tile (clipped at the edge)
    x_id: np.ndarray           # buffer id of the A tile
    w_nnz: np.ndarray
    w_numel: np.ndarray
    w_cols: np.ndarray         # columns of the B tile (clipped)
    w_nzcols: np.ndarray       # columns of the B tile holding a nonzero
    w_id: np.ndarray
    planes: int                # t-steps of the walk (1 when packed)
    grid: tuple[int, int, int, int]   # tiles along t, m, n, k

    @property
    def ops(self) -> int:
        return int(self.loads.sum())

    @property
    def n_tiles(self) -> int:
        return self.loads.shape[0]


@dataclass
class Fibers:
    """One plane of A in compressed-row form: ``indptr`` [M+1], ``indices`` (k) and a per-nonzero
    ``flag`` (LoAS: the zero bits of the word, which the correction path fixes; else None)."""

    indptr: np.ndarray
    indices: np.ndarray
    flags: np.ndarray | None = None

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])


def _tile_ids(arr: np.ndarray, row_step: int, col_step: int) -> np.ndarray:
    """Content ids of the [row_step x col_step] tiles of each plane of ``arr`` [planes, R, C] ->
    [planes, R tiles, C tiles]: equal content (and shape) gets an equal id."""
    planes, R, C = arr.shape
    rt, ct = -(-R // row_step), -(-C // col_step)
    ids = np.empty((planes, rt, ct), dtype=np.int64)
    seen: dict[bytes, int] = {}
    for p in range(planes):
        for i in range(rt):
            for j in range(ct):
                block = arr[p, i * row_step:(i + 1) * row_step, j * col_step:(j + 1) * col_step]
                key = block.shape[0].to_bytes(4, "little") + block.shape[1].to_bytes(4, "little") + \
                    np.ascontiguousarray(block).tobytes()
                ids[p, i, j] = seen.setdefault(key, len(seen))
    return ids


def _extent(total: int, step: int) -> np.ndarray:
    n = -(-total // step)
    sizes = np.full(n, step, dtype=np.int64)
    sizes[-1] = total - step * (n - 1)
    return sizes


def walk_tiles(planes: list[Fibers], M: int, K: int, weights: np.ndarray, p: SpmspmParams,
               content: np.ndarray | None = None) -> TileWalk:
    """Tile walk of the A planes (compressed rows, ``M x K`` each) against ``weights [K, N]``
    under the dataflow of ``p``. ``content`` [planes, M, K] (the values) is needed when buffers
    match tiles by content."""
    N = weights.shape[1]
    tm, tn, tk, P = p.tile_m, p.tile_n, p.tile_k, p.n_pe
    Mt, Nt, C = -(-M // tm), -(-N // tn), -(-K // tk)
    n_planes = len(planes)
    b_indptr, b_indices, w_nnz, w_nzcols = weight_tiles(weights, tk, tn, backend=p.kernel_backend)

    loads4 = np.zeros((n_planes, Mt, Nt, C, P), dtype=np.int32)
    flag4 = np.zeros_like(loads4)
    x_nnz = np.zeros((n_planes, Mt, C), dtype=np.int64)
    for t, fib in enumerate(planes):
        flags = np.zeros(len(fib.indices), dtype=np.uint8) if fib.flags is None else fib.flags
        loads, flagged, x_nnz[t] = pe_loads(fib.indptr, fib.indices, flags, b_indptr, b_indices, (M, N, K),
                                            (tm, tn, tk), p.pe_split, backend=p.kernel_backend)
        for src, dst in ((loads, loads4), (flagged, flag4)):
            if p.pe_split == "m":                                   # [M, Nt, C] -> [Mt, Nt, C, P]
                pad = np.zeros((Mt * P, Nt, C), dtype=np.int32)
                pad[:M] = src
                dst[t] = pad.reshape(Mt, P, Nt, C).transpose(0, 2, 3, 1)
            else:                                                   # [N, Mt, C] -> [Mt, Nt, C, P]
                pad = np.zeros((Nt * P, Mt, C), dtype=np.int32)
                pad[:N] = src
                dst[t] = pad.reshape(Nt, P, Mt, C).transpose(2, 0, 3, 1)

    if p.pe_scheduling == "dynamic":   # jobs = matched pairs of each (row, column) of a tile
        b_mask = np.ascontiguousarray((weights != 0).T)
        jobs = np.zeros((n_planes, Mt, Nt, C, tm * tn), dtype=np.int32)
        for t, fib in enumerate(planes):
            a_mask = np.zeros((M, K), dtype=bool)
            a_mask[np.repeat(np.arange(M), np.diff(fib.indptr)), fib.indices] = True
            pairs = join_counts(a_mask, b_mask, tk, backend=p.kernel_backend)          # [M, N, C]
            pad = np.zeros((Mt * tm, Nt * tn, C), dtype=np.int32)
            pad[:M, :N] = pairs
            jobs[t] = pad.reshape(Mt, tm, Nt, tn, C).transpose(0, 2, 4, 1, 3).reshape(Mt, Nt, C, tm * tn)
        order5 = [AXES[d] for d in p.loop_order] + [4]
        balanced = list_schedule_loads(jobs.transpose(order5).reshape(-1, tm * tn), P, backend=p.kernel_backend)
    rows_m, cols_k, cols_n = _extent(M, tm), _extent(K, tk), _extent(N, tn)
    x_numel = np.broadcast_to(rows_m[:, None] * cols_k[None, :], (n_planes, Mt, C))
    x_rows = np.broadcast_to(rows_m[:, None], (n_planes, Mt, C))
    w_numel = cols_k[:, None] * cols_n[None, :]
    w_cols = np.broadcast_to(cols_n[None, :], (C, Nt))
    if p.buffer_match == "content":
        if content is None:
            raise ValueError("buffer_match 'content' needs the tile values")
        x_id = _tile_ids(content, tm, tk)
        w_id = _tile_ids(np.ascontiguousarray(weights)[None], tk, tn)[0]
    else:
        x_id = np.arange(n_planes * Mt * C).reshape(n_planes, Mt, C)
        w_id = np.arange(C * Nt).reshape(C, Nt)

    # canonical tile axes (t, m, n, k) -> execution order
    full = (n_planes, Mt, Nt, C)
    order = [AXES[d] for d in p.loop_order]

    def seq(arr_tmnk: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.broadcast_to(arr_tmnk, full).transpose(order).reshape(-1))

    x4 = lambda a: a[:, :, None, :]          # [planes, Mt, C] -> [planes, Mt, 1, C]
    w4 = lambda a: a.T[None, None, :, :]     # [C, Nt] -> [1, 1, Nt, C]
    return TileWalk(
        loads=balanced if p.pe_scheduling == "dynamic" else np.ascontiguousarray(loads4.transpose(*order, 4).reshape(-1, P)),
        flagged=np.ascontiguousarray(flag4.transpose(*order, 4).reshape(-1, P)),
        x_nnz=seq(x4(x_nnz)), x_numel=seq(x4(x_numel)), x_rows=seq(x4(x_rows)), x_id=seq(x4(x_id)),
        w_nnz=seq(w4(w_nnz)), w_numel=seq(w4(w_numel)), w_cols=seq(w4(w_cols)),
        w_nzcols=seq(w4(w_nzcols)), w_id=seq(w4(w_id)),
        planes=n_planes, grid=full)


def plane_fibers(words: np.ndarray, timesteps: int, backend: str = "numba") -> list[Fibers]:
    """One compressed-row plane per timestep (bit t of each word), for the designs that process
    timesteps one after another."""
    out = []
    for t in range(timesteps):
        bit = (words >> words.dtype.type(t)) & words.dtype.type(1)
        indptr, indices, _ = compress_rows(bit, 0, backend=backend)
        out.append(Fibers(indptr, indices))
    return out


class SerialWalk(NamedTuple):
    walk: "TileWalk"
    miss_w: np.ndarray      # per tile: the weight tile missed the weight buffer
    miss_x: np.ndarray      # per tile: the spike tile missed the spike buffer
    x_bits: int             # bits of one input value (1 for spikes)
    nnz: int                # nonzero inputs over all timesteps


def serial_walk(view: "GemmView", p: SpmspmParams) -> SerialWalk:
    """The tile walk of a timestep-serial baseline (SparTen-S, GoSPA-S, Gamma-S): one spike plane
    per timestep, and which tiles miss the weight and the spike buffers."""
    M, K = view.words.shape
    planes = plane_fibers(view.words, view.timesteps, backend=p.kernel_backend)
    content = timestep_planes(view.words, view.timesteps) if p.buffer_match == "content" else None
    walk = walk_tiles(planes, M, K, view.weights, p, content)
    miss_w = ~buffer_hits(walk.w_id, walk.w_nnz, p.weight_buffer_entries, p.kernel_backend)
    miss_x = ~buffer_hits(walk.x_id, walk.x_nnz, p.spike_buffer_entries, p.kernel_backend)
    return SerialWalk(walk, miss_w, miss_x, 1 if view.spike_input else view.input_bits,
                      sum(f.nnz for f in planes))


def buffer_hits(ids: np.ndarray, sizes: np.ndarray, capacity: int, backend: str = "numba") -> np.ndarray:
    """Hit flags of a whole-tile FIFO buffer (ids renumbered densely for the kernel)."""
    _, dense = np.unique(ids, return_inverse=True)
    return fifo_buffer_hits(dense.reshape(-1), sizes, capacity, backend=backend)


def changed(ids: np.ndarray) -> np.ndarray:
    """Tile differs from the one before; the first tile is compared with the last, as the
    authors' simulator indexes ``tiles[i - 1]``."""
    return ids != np.roll(ids, 1)


# --- bandwidth and the vector unit -------------------------------------------------------------------

def bits_per_cycle(gbps: float | None, clock_mhz: float) -> float | None:
    return None if gbps is None else gbps * 8e9 / (clock_mhz * 1e6)


def floor_cycles(bits: np.ndarray, per_cycle: float | None) -> np.ndarray:
    return np.zeros_like(bits, dtype=float) if per_cycle is None else np.asarray(bits, dtype=float) / per_cycle


def vector_op(op, p: SpmspmParams, unit: str) -> OpCost:
    """A non-GEMM op on the neuron/vector unit: ``elements * T * ops_per_element`` operations on
    ``vector_lanes`` lanes; operands stream from the on-chip buffer (no DRAM traffic: the layer's
    spikes stay on chip between the GEMM and its LIF)."""
    n_ops = vector_ops(op, p.ops_per_element)
    acts = ActionCounter()
    acts.add(unit, "op", n_ops)
    cycles = math.ceil(n_ops / p.vector_lanes)
    return OpCost(cycles=float(cycles), actions=acts.as_dict(), traffic_bytes={},
                  utilization=n_ops / (p.vector_lanes * cycles) if cycles else 0.0,
                  metrics={"vector_ops": float(n_ops)})


def is_gemm(op) -> bool:
    return op.kind in GEMM_KINDS


# --- traffic and timing of one GEMM view ---------------------------------------------------------

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


def combine(costs: list[OpCost], n_pe: int) -> OpCost:
    """Sum the costs of an op's views (groups run one after another)."""
    acts = ActionCounter()
    traffic: dict[str, float] = {}
    metrics: dict[str, float] = {}
    for c in costs:
        for comp, per in c.actions.items():
            for action, n in per.items():
                acts.add(comp, action, n)
        for k, v in c.traffic_bytes.items():
            traffic[k] = traffic.get(k, 0.0) + v
        for k, v in c.metrics.items():
            metrics[k] = metrics.get(k, 0.0) + v
    cycles = float(sum(c.cycles for c in costs))
    ops = float(sum(c.macs_effectual or 0.0 for c in costs))
    return OpCost(cycles=cycles, actions=acts.as_dict(), traffic_bytes=traffic, macs_effectual=ops,
                  utilization=ops / (n_pe * cycles) if cycles else 0.0, metrics=metrics)


class SpmspmModel(HardwareModel):
    """Base of the dual-sparse models: GEMM ops go through :meth:`view_cost` once per GEMM view;
    other ops run on the neuron (``lif``) or vector (``vector``) unit."""

    kinds = OP_KINDS
    lif_overlapped: ClassVar[bool] = False   # a model whose LIF runs beside the PEs sets this
    packs_spike_b: ClassVar[bool] = False    # spike x spike matmuls on packed words (temporal-parallel)

    def run_op(self, op, ctx: OpContext) -> OpCost:
        if is_gemm(op):
            views = gemm_views(op, ctx, self.params.weight_bits, self.packs_spike_b)
            return combine([self.view_cost(v, op) for v in views], self.params.n_pe)
        cost = vector_op(op, self.params, "lif" if op.kind == "lif" else "vector")
        if op.kind == "lif" and self.lif_overlapped:
            cost.metrics["hidden_cycles"] = cost.cycles
            cost.cycles = 0.0
            cost.utilization = None
        return cost

    def view_cost(self, view: GemmView, op) -> OpCost:  # pragma: no cover - abstract
        raise NotImplementedError
