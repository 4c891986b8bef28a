"""Per-tile cycle accounting of a PE array: the whole-tile FIFO buffer, the TPPE pipeline with
its laggy prefix sum and FIFO, and greedy load balancing.

* :func:`fifo_buffer_hits` -- a buffer that holds whole tiles, sized in entries (nonzeros),
  evicting the oldest tiles until a missing tile fits (the authors' simulator). A tile hits if a
  tile with the same id is resident; ids are content hashes or tile coordinates.
* :func:`tppe_pipeline` -- tiles run one after another with a barrier (a tile ends when every PE
  has issued its matched pairs). In each PE the fast path issues one matched pair per cycle into
  a FIFO of ``fifo_depth`` entries; the correction path pops one entry per cycle once the laggy
  prefix sum of that tile's spike bitmask chunk is ready (``laggy_cycles`` after the laggy unit
  starts on it, one chunk at a time). A full FIFO stalls the fast path.
* :func:`list_schedule_loads` -- jobs of a tile dealt in order to the least-loaded of P PEs.
"""
from __future__ import annotations

import heapq
from collections import deque

import numpy as np

from archsim.kernels._jit import check_backend, kernel


# --- whole-tile FIFO buffer ----------------------------------------------------------------------

def fifo_buffer_hits_reference(ids, sizes, capacity):
    resident: deque = deque()
    free = capacity
    hits = np.zeros(len(ids), dtype=np.bool_)
    for i, (tid, size) in enumerate(zip(ids, sizes)):
        if any(r == tid for r, _ in resident):
            hits[i] = True
            continue
        if size > capacity:            # larger than the buffer: streamed through, not kept
            continue
        while size > free:
            _, s = resident.popleft()
            free += s
        resident.append((tid, size))
        free -= size
    return hits


@kernel(reference=fifo_buffer_hits_reference)
def _fifo_buffer_hits_kernel(ids, sizes, capacity):
    n = ids.shape[0]
    n_ids = 0
    for i in range(n):
        if ids[i] + 1 > n_ids:
            n_ids = ids[i] + 1
    resident = np.zeros(n_ids, dtype=np.int64)   # copies of each id in the buffer (0 or 1)
    q_id = np.empty(n, dtype=np.int64)
    q_size = np.empty(n, dtype=np.int64)
    head = 0
    tail = 0
    free = capacity
    hits = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        tid = ids[i]
        size = sizes[i]
        if resident[tid] > 0:
            hits[i] = True
            continue
        if size > capacity:
            continue
        while size > free:
            resident[q_id[head]] -= 1
            free += q_size[head]
            head += 1
        q_id[tail] = tid
        q_size[tail] = size
        tail += 1
        resident[tid] += 1
        free -= size
    return hits


def fifo_buffer_hits(ids, sizes, capacity: int, backend: str = "numba") -> np.ndarray:
    """``ids`` (non-negative ints) and ``sizes`` (entries) of the tiles in access order ->
    hit flags. ``capacity`` in entries."""
    check_backend(backend)
    ids = np.asarray(ids, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    if ids.shape != sizes.shape or ids.ndim != 1:
        raise ValueError("ids and sizes must be 1-D of the same length")
    if (ids < 0).any() or (sizes < 0).any() or capacity < 0:
        raise ValueError("ids, sizes and capacity must be non-negative")
    if backend == "reference":
        return fifo_buffer_hits_reference(ids.tolist(), sizes.tolist(), int(capacity))
    return _fifo_buffer_hits_kernel(ids, sizes, int(capacity))


# --- TPPE pipeline: fast path, FIFO, laggy prefix sum, correction path --------------------------

def tppe_pipeline_reference(loads, min_cycles, fifo_depth, laggy_cycles, lookahead):
    """Cycle-stepped simulation of the same machine (the specification of the kernel).

    Per cycle and PE: first the correction path pops the FIFO head if its chunk's laggy prefix
    sum is ready and it was pushed in an earlier cycle; then the fast path pushes the PE's next
    matched pair of the current tile if the FIFO has room."""
    n_tiles, P = loads.shape
    fifo = [deque() for _ in range(P)]       # entries: ready cycle of their chunk's offsets
    laggy_free = [0] * P
    tile_cycles = np.zeros(n_tiles, dtype=np.int64)
    fast_stall = 0
    start = 0
    prev_start = 0
    for i in range(n_tiles):
        ready = [0] * P
        left = [int(x) for x in loads[i]]
        for p in range(P):
            if left[p]:
                begin = max(laggy_free[p], prev_start if lookahead else start)
                ready[p] = begin + laggy_cycles
                laggy_free[p] = ready[p]
        cycle = start
        pushed_at = [[] for _ in range(P)]
        while any(left):
            for p in range(P):
                q = fifo[p]
                if q and q[0][0] <= cycle and q[0][1] < cycle:
                    q.popleft()
                if left[p] and len(q) < fifo_depth:
                    q.append((ready[p], cycle))
                    pushed_at[p].append(cycle)
                    left[p] -= 1
            cycle += 1
        end = cycle
        fast_stall += (end - start) - int(loads[i].max(initial=0))
        length = max(end - start, int(min_cycles[i]))
        # drain pops that happen during the bandwidth-bound tail of this tile
        for c in range(end, start + length):
            for p in range(P):
                q = fifo[p]
                if q and q[0][0] <= c and q[0][1] < c:
                    q.popleft()
        tile_cycles[i] = length
        prev_start = start
        start += length
    drain = 0
    cycle = start
    while any(fifo):
        for p in range(P):
            q = fifo[p]
            if q and q[0][0] <= cycle and q[0][1] < cycle:
                q.popleft()
        cycle += 1
        drain = cycle - start
    return tile_cycles, drain, fast_stall


@kernel(reference=tppe_pipeline_reference)
def _tppe_pipeline_kernel(loads, min_cycles, fifo_depth, laggy_cycles, lookahead):
    # Closed form per (PE, tile), O(fifo_depth) instead of O(matches). Per entry e of a PE the
    # cycle-stepped machine obeys issue_e = max(issue_{e-1} + 1, tile start, pop_{e-D}) and
    # pop_e = max(issue_e + 1, pop_{e-1} + 1, ready of its chunk). Within a tile this gives
    # pop_j = pop_0 + j (pops never fall behind issues), hence
    #   issue_j = j + max(start, max_{i <= min(j, D-1)} (old_pop_i - i), pop_0 - D if j >= D),
    # where old_pop_i is the pop of the entry D places before entry j of the tile.
    n_tiles, P = loads.shape
    D = fifo_depth
    ring = np.full((P, D), -1, dtype=np.int64)     # pop cycles of each PE's last D entries, oldest first
    last_issue = np.full(P, -1, dtype=np.int64)
    last_pop = np.full(P, -1, dtype=np.int64)
    laggy_free = np.zeros(P, dtype=np.int64)
    tile_cycles = np.zeros(n_tiles, dtype=np.int64)
    fast_stall = 0
    start = 0
    prev_start = 0
    for i in range(n_tiles):
        end = start
        most = 0
        for p in range(P):
            n = loads[i, p]
            if n == 0:
                continue
            if n > most:
                most = n
            begin = laggy_free[p]
            floor = prev_start if lookahead else start
            if floor > begin:
                begin = floor
            ready = begin + laggy_cycles
            laggy_free[p] = ready
            first = start if start > ring[p, 0] else ring[p, 0]
            pop0 = first + 1
            if last_pop[p] + 1 > pop0:
                pop0 = last_pop[p] + 1
            if ready > pop0:
                pop0 = ready
            base = start
            lim = n if n < D else D
            for j in range(lim):
                if ring[p, j] - j > base:
                    base = ring[p, j] - j
            if n > D and pop0 - D > base:
                base = pop0 - D
            issue_last = n - 1 + base
            if n >= D:
                for j in range(D):
                    ring[p, j] = pop0 + n - D + j
            else:
                for j in range(D - n):
                    ring[p, j] = ring[p, j + n]
                for j in range(n):
                    ring[p, D - n + j] = pop0 + j
            last_issue[p] = issue_last
            last_pop[p] = pop0 + n - 1
            if issue_last + 1 > end:
                end = issue_last + 1
        fast_stall += (end - start) - most
        length = end - start
        if min_cycles[i] > length:
            length = min_cycles[i]
        tile_cycles[i] = length
        prev_start = start
        start += length
    finish = start
    for p in range(P):
        if last_pop[p] + 1 > finish:
            finish = last_pop[p] + 1
    return tile_cycles, finish - start, fast_stall


def tppe_pipeline(loads, min_cycles=None, fifo_depth: int = 8, laggy_cycles: int = 8,
                  lookahead: bool = False, backend: str = "numba"):
    """``loads`` [tiles, PEs]: matched pairs per PE in each tile, in execution order;
    ``min_cycles`` [tiles]: a floor on each tile's length (memory bandwidth). Returns
    ``(tile_cycles [tiles], drain_cycles, fast_stall_cycles)``: the correction path's tail after
    the last tile, and the cycles the fast paths lost to a full FIFO (summed over tiles, as seen
    by the slowest PE)."""
    check_backend(backend)
    loads = np.ascontiguousarray(loads, dtype=np.int64)
    if loads.ndim != 2:
        raise ValueError(f"loads must be [tiles, PEs], got shape {loads.shape}")
    if (loads < 0).any():
        raise ValueError("loads must be non-negative")
    if fifo_depth < 1 or laggy_cycles < 0:
        raise ValueError(f"fifo_depth must be >= 1 and laggy_cycles >= 0, got {fifo_depth}, {laggy_cycles}")
    mins = np.zeros(loads.shape[0], dtype=np.int64) if min_cycles is None else \
        np.ceil(np.asarray(min_cycles, dtype=float)).astype(np.int64)
    if mins.shape != (loads.shape[0],):
        raise ValueError("min_cycles needs one entry per tile")
    if backend == "reference":
        return tppe_pipeline_reference(loads, mins, int(fifo_depth), int(laggy_cycles), bool(lookahead))
    return _tppe_pipeline_kernel(loads, mins, int(fifo_depth), int(laggy_cycles), bool(lookahead))


# --- load balancing ------------------------------------------------------------------------------

def list_schedule_loads_reference(jobs, pes):
    out = np.zeros((jobs.shape[0], pes), dtype=np.int64)
    for i, row in enumerate(jobs):
        heap = [(0, p) for p in range(pes)]
        for size in row:
            if size:
                load, p = heapq.heappop(heap)
                heapq.heappush(heap, (load + int(size), p))
        for load, p in heap:
            out[i, p] = load
    return out


@kernel(reference=list_schedule_loads_reference)
def _list_schedule_loads_kernel(jobs, pes):
    n_tiles, J = jobs.shape
    out = np.zeros((n_tiles, pes), dtype=np.int64)
    for i in range(n_tiles):
        for j in range(J):
            size = jobs[i, j]
            if size == 0:
                continue
            best = 0
            for p in range(1, pes):
                if out[i, p] < out[i, best]:
                    best = p
            out[i, best] += size
    return out


def list_schedule_loads(jobs, pes: int, backend: str = "numba") -> np.ndarray:
    """``jobs`` [tiles, J] (cycles of each job, in dispatch order) -> each PE's load per tile
    ``[tiles, pes]`` when every job goes to the PE with the least work so far (ties: lowest
    index): dynamic load balancing, the tile's makespan is the row maximum."""
    check_backend(backend)
    jobs = np.ascontiguousarray(jobs, dtype=np.int64)
    if jobs.ndim != 2 or pes < 1 or (jobs < 0).any():
        raise ValueError("jobs must be a non-negative [tiles, J] array and pes >= 1")
    if backend == "reference":
        return list_schedule_loads_reference(jobs, int(pes))
    return _list_schedule_loads_kernel(jobs, int(pes))
