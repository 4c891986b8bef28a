"""The tile walk of a tiled spMspM on a PE array (:func:`walk_tiles`). Four tile loops over t, m, n, k in a given order (outer to
inner). The A tile is ``tile_m x tile_k`` of one plane (a timestep, or the packed words), the B
tile ``tile_k x tile_n``. The PE array splits one dimension: with ``pe_split = m`` PE p takes row
p of the A tile against the whole B tile (LoAS, Gamma); with ``n`` PE p takes column p of the B
tile against the whole A tile (SparTen, GoSPA). A PE performs one matched pair per cycle, so its
load in a tile is the number of matched pairs it owns (:mod:`archsim.kernels.pair_counts`);
edge tiles are clipped as in the authors' simulator. The walk returns, per tile in execution
order: the PE loads, the nonzeros and sizes of the A and B tiles, and tile ids for the buffers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from archsim.arch.spmspm.buffers import buffer_hits
from archsim.arch.spmspm.gemm import GemmView, timestep_planes
from archsim.arch.spmspm.params import AXES, SpmspmParams
from archsim.kernels.innerjoin import join_counts
from archsim.kernels.pair_counts import pe_loads
from archsim.kernels.spike_compress import compress_rows
from archsim.kernels.tile_stats import weight_tiles
from archsim.kernels.tile_schedule import list_schedule_loads


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
