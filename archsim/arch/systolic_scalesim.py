"""SCALE-Sim 3.0.0's memory accounting, replayed: the ``dram_model: scalesim`` mode of the
``systolic`` model (docs/models/systolic.md, "SCALE-Sim's DRAM accounting").

SCALE-Sim does not count DRAM traffic in closed form: it builds, fold by fold, one request
matrix per operand (one row per cycle, -1 = no request) and pushes every address through
buffer objects. Which words come back from DRAM, when the array stalls and when the prefetch
starts therefore depend on the order of the requests. This module rebuilds the same request
streams from the layer shape (our own construction, written down in
tools/scalesim_golden/EQUATIONS.md, sections 2 and 6) and replays them through a model of the
buffers' bookkeeping (sections 7 and 12):

* ``calc``  (SCALE-Sim ``InterfaceBandwidth: CALC``): the ifmap and filter buffers are divided
  into 100 sets of ``floor(words / 100)`` words; an address is fetched when it is not in a set
  of the active window, and the window moves on by the prefetch half each time the active half
  fills with new words. Prefetches of the first fill run at 10 words per cycle.
* ``user``  (``InterfaceBandwidth: USER``): the buffers are filled from SCALE-Sim's *prefetch
  matrices* (the operand in fold order; the skewed operands in anti-diagonal order) in lines of
  ``bandwidth`` words; the buffer holds sets of ``ceil(words / 100)`` prefetched words, and a
  request not in the active window of sets triggers the next prefetch (stalling the array when
  the prefetch has not arrived). DRAM reads count whole lines, empty slots included.
* the ofmap buffer (both modes) fills lines of ``bandwidth`` words (CALC: the array width) and
  drains half of the buffer whenever the free space falls below the active half; a write into a
  full buffer while a drain runs stalls the array.

All counts are in SCALE-Sim's words (one element each). The replay is exact against SCALE-Sim's
reports on every golden configuration (``tests/test_scalesim_harness.py``), SCALE-Sim's own
artefacts included (DRAM ofmap writes that count the empty slots of padded lines, the USER-mode
line rounding, the doubled stall offset of its read buffer); the documentation lists them.

The stream construction and the buffers are plain numpy / Python: the reference of the
specification. Cost grows with the op's cycles times the array width.
"""
from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass

import numpy as np

from archsim.arch.systolic_math import spatio_temporal

CALC_PREFETCH_WORDS_PER_CYCLE = 10     # SCALE-Sim's default ifmap / filter bandwidth in CALC mode
READ_LATENCY = 1                       # its read port and SRAM hit latency (cycles)


@dataclass(frozen=True)
class Geometry:
    """One product in SCALE-Sim's convolution view: ``images`` unpadded inputs of ``H x W x C``
    words, ``Fh x Fw`` windows with ``stride`` (and ``dilation``; SCALE-Sim has none), ``Eh x Ew``
    outputs each (windows past the edge read nothing), ``N`` filters."""

    H: int
    W: int
    C: int
    Fh: int
    Fw: int
    stride_h: int
    stride_w: int
    Eh: int
    Ew: int
    N: int
    images: int = 1
    dilation_h: int = 1
    dilation_w: int = 1

    @property
    def P(self) -> int:
        return self.images * self.Eh * self.Ew

    @property
    def K(self) -> int:
        return self.Fh * self.Fw * self.C

    @classmethod
    def gemm(cls, M: int, K: int, N: int) -> "Geometry":
        """SCALE-Sim's view of a GEMM row ``M, N, K``: an ``M x K`` input read by ``1 x K`` windows."""
        return cls(H=M, W=K, C=1, Fh=1, Fw=K, stride_h=1, stride_w=1, Eh=M, Ew=1, N=N)


@dataclass(frozen=True)
class Memory:
    """Buffer sizes (words) and DRAM bandwidths (words per cycle; ``mode`` calc: ofmap only)."""

    ifmap_words: int
    filter_words: int
    ofmap_words: int
    mode: str = "calc"                 # "calc" or "user"
    ifmap_bw: int = CALC_PREFETCH_WORDS_PER_CYCLE
    filter_bw: int = CALC_PREFETCH_WORDS_PER_CYCLE
    ofmap_bw: int | None = None        # None: the array width (CALC)
    active_fraction: float = 0.5


# -- request streams ----------------------------------------------------------------------------

def operand_matrices(g: Geometry):
    """Address matrices A (P x K, -1 where a window runs past the input edge), B (K x N), O (P x N)."""
    p = np.arange(g.P, dtype=np.int64)[:, None]
    k = np.arange(g.K, dtype=np.int64)[None, :]
    img, pix = p // (g.Eh * g.Ew), p % (g.Eh * g.Ew)
    oy, ox = pix // g.Ew, pix % g.Ew
    ky, rem = k // (g.Fw * g.C), k % (g.Fw * g.C)
    kx, c = rem // g.C, rem % g.C
    iy, ix = oy * g.stride_h + ky * g.dilation_h, ox * g.stride_w + kx * g.dilation_w
    A = ((img * g.H + iy) * g.W + ix) * g.C + c
    A[(iy >= g.H) | (ix >= g.W)] = -1
    B = np.arange(g.N, dtype=np.int64)[None, :] * g.K + np.arange(g.K, dtype=np.int64)[:, None]
    O = np.arange(g.P, dtype=np.int64)[:, None] * g.N + np.arange(g.N, dtype=np.int64)[None, :]
    return A, B, O


def _pad(m, rows, cols):
    out = np.full((rows, cols), -1, dtype=np.int64)
    out[: m.shape[0], : m.shape[1]] = m
    return out


def _skew(m):
    """Column j delayed by j cycles."""
    r, c = m.shape
    out = np.full((r + c - 1, c), -1, dtype=np.int64)
    for j in range(c):
        out[j: j + r, j] = m[:, j]
    return out


def _gap(n, w):
    return np.full((n, w), -1, dtype=np.int64)


def fold_demands(df: str, R: int, C: int, A, B, O):
    """Yield, fold by fold (column folds outer), the per-cycle SRAM requests of the three operands
    (ifmap, filter, ofmap blocks of equal length; -1: no request)."""
    P, K = A.shape
    N = B.shape[1]
    Sr, Sc, T = spatio_temporal(df, P, K, N)
    Fr, Fc = -(-Sr // R), -(-Sc // C)
    for fc in range(Fc):
        c0, c1 = fc * C, min(fc * C + C, Sc)
        for fr in range(Fr):
            r0, r1 = fr * R, min(fr * R + R, Sr)
            if df == "ws":
                ifm = _skew(np.vstack([_gap(R, R), _pad(A[:, r0:r1], T, R), _gap(C - 1, R)]))
                flt = np.vstack([_pad(B[r0:r1, c0:c1], R, C)[::-1], _gap(R + C + T - 2, C)])
                ofm = _skew(np.vstack([_gap(2 * R - 1, C), _pad(O[:, c0:c1], T, C)]))
            elif df == "os":
                ifm = _skew(np.vstack([_pad(A[r0:r1, :].T, T, R), _gap(C - 1, R)]))
                flt = _skew(np.vstack([_pad(B[:, c0:c1], T, C), _gap(R - 1, C)]))
                ofm = _skew(np.vstack([_gap(T - 1, C), _pad(O[r0:r1, c0:c1], R, C)[::-1]]))
            else:
                ifm = np.vstack([_pad(A[c0:c1, r0:r1].T, R, C)[::-1], _gap(R + C + T - 2, C)])
                flt = _skew(np.vstack([_gap(R, R), _pad(B[r0:r1, :].T, T, R), _gap(C - 1, R)]))
                ofm = _skew(np.vstack([_gap(2 * R - 1, C), _pad(O[c0:c1, :].T, T, C)]))
            yield ifm, flt, ofm


def demand_matrices(df: str, R: int, C: int, A, B, O):
    """The per-cycle SRAM requests of the three operands, folds concatenated (column folds outer)."""
    ifs, fls, ofs = zip(*fold_demands(df, R, C, A, B, O))
    return np.concatenate(ifs), np.concatenate(fls), np.concatenate(ofs)


def _antidiagonal(m):
    """Elements of ``m`` by anti-diagonal (row + col ascending), each from its lowest row up."""
    rows, cols = np.indices(m.shape)
    order = np.lexsort((-rows.ravel(), (rows + cols).ravel()))
    return m.ravel()[order]


def prefetch_order(df: str, R: int, C: int, A, B):
    """USER mode: the order in which SCALE-Sim prefetches each operand (flat, -1 = empty slot)."""
    P, K = A.shape
    N = B.shape[1]
    Sr, Sc, T = spatio_temporal(df, P, K, N)
    Fr, Fc = -(-Sr // R), -(-Sc // C)
    rf = [(i * R, min(i * R + R, Sr)) for i in range(Fr)]
    cf = [(i * C, min(i * C + C, Sc)) for i in range(Fc)]
    if df == "ws":
        ifm = _antidiagonal(np.vstack([_pad(A[:, a:b], T, R) for a, b in rf]))
        flt = np.vstack([_pad(B[:, a:b], K, C) for a, b in cf]).ravel()
    elif df == "os":
        ifm = _antidiagonal(np.vstack([_pad(A[a:b, :].T, T, R) for a, b in rf]))
        flt = _antidiagonal(np.vstack([_pad(B[:, a:b], T, C) for a, b in cf]))
    else:
        ifm = np.vstack([_pad(A[a:b, :].T, Sr, C) for a, b in cf]).ravel()
        flt = _antidiagonal(np.vstack([_pad(B[a:b, :].T, T, R) for a, b in rf]))
    return ifm, flt


# -- buffers ------------------------------------------------------------------------------------

class CalcReadBuffer:
    """CALC-mode ifmap / filter buffer: sets of ``floor(words/100)`` new addresses; the active
    window (``active_fraction`` of the 100 sets) moves on by the prefetch sets whenever it fills."""

    def __init__(self, words: int, active_fraction: float):
        self.per_set = words // 100
        self.n_active = int(round(active_fraction, 2) * 100)
        self.n_prefetch = 100 - self.n_active
        self.last_set: dict[int, int] = {}
        self.cur_set, self.cur_count = 0, 0
        self.start, self.end = 0, self.n_active - 1
        self.pstart = -1
        self.first_cycle = None
        self.done_first = False
        self.reads = 0
        self.pf_start, self.pf_end = -2, -1
        self.trace: list[tuple[int, int]] = []      # (first, last) response cycles of each prefetch

    def _prefetch(self, n_sets_words: int):
        self.reads += n_sets_words
        self.trace.append((self.pf_start + READ_LATENCY, self.pf_end + READ_LATENCY))

    def line(self, cycle: int, addrs) -> int:
        """Serve one cycle's requests; returns the stall (always 0 in CALC mode)."""
        for a in addrs:
            if a < 0:
                continue
            if self.first_cycle is None:
                self.first_cycle = cycle
            s = self.last_set.get(a)
            if s is not None and s >= self.start:
                continue                            # in the active window or the set being filled
            self.last_set[a] = self.cur_set
            self.cur_count += 1
            if self.cur_count < self.per_set:
                continue
            self.cur_set += 1
            self.cur_count = 0
            if self.cur_set != self.end + 1:
                continue
            if not self.done_first:
                self.pf_end = self.first_cycle - 1 - READ_LATENCY
                need = math.ceil(self.n_prefetch * self.per_set / CALC_PREFETCH_WORDS_PER_CYCLE)
                self.pf_start = self.pf_end - need + 1
                self._prefetch(self.n_active * self.per_set)
                self.pstart = self.end + 1
                self.done_first = True
            else:
                self._prefetch(self.n_prefetch * self.per_set)
                self.pstart += self.n_prefetch
            self.start += self.n_prefetch
            self.end += self.n_prefetch
            self.pf_start, self.pf_end = self.pf_end + 1, cycle
        return 0

    def finish(self):
        last = self.cur_set if self.cur_count else self.cur_set - 1
        partial = self.cur_count
        if not self.done_first:
            n_sets = last + 1
            self.pf_end = -1 - READ_LATENCY
            need = math.ceil(n_sets * self.per_set / CALC_PREFETCH_WORDS_PER_CYCLE)
            self.pf_start = self.pf_end - need + 1
            self._prefetch((n_sets - (1 if partial else 0)) * self.per_set + partial)
        else:
            n_full = max(0, (last + 1 if not partial else last) - self.pstart)
            self._prefetch(n_full * self.per_set + partial)

    def dram(self):
        return self.reads, min(s for s, _ in self.trace), max(e for _, e in self.trace)


class UserReadBuffer:
    """USER-mode ifmap / filter buffer fed by the prefetch order, ``bw`` words per DRAM line."""

    def __init__(self, words: int, active_fraction: float, bw: int, order):
        self.bw = bw
        self.total = words
        self.active = int(math.ceil(words * round(active_fraction, 2)))
        self.prefetch_words = words - self.active
        n_slots = len(order)
        self.fetch_lines = -(-n_slots // bw)
        per_set = math.ceil(words / 100)
        valid = order[order >= 0]
        set_of = np.arange(len(valid)) // per_set
        n_sets = int(set_of[-1]) + 1 if len(valid) else 1
        if len(valid) and len(valid) % per_set == 0:
            n_sets += 1                             # SCALE-Sim keeps the (empty) set after a full one
        self.n_sets = n_sets
        self.sets_of: dict[int, list[int]] = {}
        for a, s in zip(valid.tolist(), set_of.tolist()):
            lst = self.sets_of.setdefault(a, [])
            if not lst or lst[-1] != s:
                lst.append(s)
        self.n_active = min(math.ceil(self.active / per_set), n_sets)
        self.n_prefetch = min(math.ceil(self.prefetch_words / per_set), n_sets - self.n_active)
        self.start = 0
        self.started = False
        self.reads = 0
        self.last_prefetch = -1
        self.first_response = 0

    def _hit(self, a: int) -> bool:
        if self.n_active >= self.n_sets:
            return True
        for s in self.sets_of[a]:
            if (s - self.start) % self.n_sets < self.n_active:
                return True
        return False

    def line(self, cycle: int, addrs) -> int:
        if not self.started:
            n = min(math.ceil(self.active / self.bw), self.fetch_lines)
            self.reads += n * self.bw
            self.first_response = cycle - n
            self.last_prefetch = cycle - 1
            self.started = True
        offset = READ_LATENCY
        for a in addrs:
            if a < 0:
                continue
            while not self._hit(a):
                self.start = (self.start + self.n_prefetch) % self.n_sets
                n = math.ceil(self.prefetch_words / self.bw)
                self.reads += n * self.bw
                self.last_prefetch += n + READ_LATENCY
                potential = self.last_prefetch - (cycle + offset)
                offset += potential                 # SCALE-Sim adds a positive wait twice
                if potential > 0:
                    offset += potential
        return offset - READ_LATENCY

    def finish(self):
        pass

    def dram(self):
        return self.reads, self.first_response, self.last_prefetch


class WriteBuffer:
    """Ofmap buffer: lines of ``bw`` words, drained half a buffer at a time, one line per cycle."""

    def __init__(self, words: int, active_fraction: float, bw: int):
        self.bw = bw
        self.total = words
        self.drain_size = words - int(math.ceil(words * active_fraction))
        self.free = words
        self.lines: list[int] = []                  # words in each closed line
        self.fill = 0
        self.drain_ptr = 0
        self.drain_end = 0
        self.writes = 0
        self.cycles_lo, self.cycles_hi = None, None

    def _close(self):
        if self.fill:
            self.lines.append(self.fill)
            self.fill = 0

    def _drain(self, start: float) -> float:
        n_lines = min(-(-self.drain_size // self.bw), len(self.lines) - self.drain_ptr)
        last = self.lines[self.drain_ptr + n_lines - 1]
        data = n_lines * self.bw - (self.bw - last)
        self.writes += data
        self.free += data
        self.drain_ptr += n_lines
        end = start + n_lines - 1
        self.cycles_lo = start if self.cycles_lo is None else min(self.cycles_lo, start)
        self.cycles_hi = end if self.cycles_hi is None else max(self.cycles_hi, end)
        return end

    def line(self, cycle: float, n_words: int) -> float:
        """Store one cycle's writes; returns the stall."""
        current = cycle
        for _ in range(n_words):
            self.fill += 1
            self.free -= 1
            if self.fill == self.bw:
                self.lines.append(self.fill)
                self.fill = 0
            if current < self.drain_end:
                if self.free <= 0:
                    current = self.drain_end
            elif self.free < self.total - self.drain_size:
                self._close()
                self.drain_end = self._drain(current)
        return current - cycle

    def finish(self, cycle: float):
        self._close()
        while self.drain_ptr < len(self.lines):
            self.drain_end = self._drain(cycle)
            cycle = self.drain_end + 1

    def dram(self):
        return self.writes, self.cycles_lo, self.cycles_hi


# -- one layer ----------------------------------------------------------------------------------

DF_CODE = {"ws": 0, "os": 1, "is": 2}


def _encode(g: Geometry, mem: Memory, C: int):
    geom = np.array([g.H, g.W, g.C, g.Fh, g.Fw, g.stride_h, g.stride_w, g.Eh, g.Ew, g.N, g.images,
                     g.dilation_h, g.dilation_w], dtype=np.int64)
    user = mem.mode == "user"
    m = np.array([int(user), mem.ifmap_words, mem.filter_words, mem.ofmap_words,
                  mem.ifmap_bw if user else CALC_PREFETCH_WORDS_PER_CYCLE,
                  mem.filter_bw if user else CALC_PREFETCH_WORDS_PER_CYCLE,
                  mem.ofmap_bw or C, int(round(round(mem.active_fraction, 2) * 100))], dtype=np.int64)
    return geom, m


def _decode(geom, mem, C: int) -> tuple[Geometry, Memory]:
    g = Geometry(*(int(x) for x in geom))
    user = bool(mem[0])
    return g, Memory(int(mem[1]), int(mem[2]), int(mem[3]), mode="user" if user else "calc",
                     ifmap_bw=int(mem[4]), filter_bw=int(mem[5]), ofmap_bw=int(mem[6]),
                     active_fraction=int(mem[7]) / 100)


def replay_raw_reference(df: int, R: int, C: int, geom, mem):
    """The specification of :mod:`archsim.kernels.scalesim_replay`: request matrices built with
    numpy, pushed through the buffer classes above; returns its ``RAW_FIELDS``."""
    g, m = _decode(geom, mem, C)
    df = ("ws", "os", "is")[df]
    A, B, O = operand_matrices(g)
    ifm, flt, ofm = demand_matrices(df, R, C, A, B, O)
    frac = m.active_fraction
    if m.mode == "user":
        if_order, fl_order = prefetch_order(df, R, C, A, B)
        ibuf = UserReadBuffer(m.ifmap_words, frac, m.ifmap_bw, if_order)
        fbuf = UserReadBuffer(m.filter_words, frac, m.filter_bw, fl_order)
    else:
        ibuf = CalcReadBuffer(m.ifmap_words, frac)
        fbuf = CalcReadBuffer(m.filter_words, frac)
    obuf = WriteBuffer(m.ofmap_words, frac, m.ofmap_bw or C)
    n_lines = ifm.shape[0]
    o_counts = (ofm >= 0).sum(axis=1)
    served = {"if": np.empty(n_lines), "fl": np.empty(n_lines), "of": np.empty(n_lines)}
    stall = 0
    if_rows, fl_rows = ifm.tolist(), flt.tolist()
    for i in range(n_lines):
        cycle = i + stall
        s_if = ibuf.line(cycle, if_rows[i])
        s_fl = fbuf.line(cycle, fl_rows[i])
        s_of = obuf.line(cycle, int(o_counts[i]))
        served["if"][i] = cycle + READ_LATENCY + s_if
        served["fl"][i] = cycle + READ_LATENCY + s_fl
        served["of"][i] = cycle + s_of
        stall += int(max(s_if, s_fl, s_of))
    ibuf.finish()
    fbuf.finish()
    obuf.finish(served["of"][-1])
    out = [served["of"].max(), stall, *ibuf.dram(), *fbuf.dram(), *obuf.dram()]
    for key, mat in (("if", ifm), ("fl", flt), ("of", ofm)):
        rows = np.flatnonzero((mat >= 0).any(axis=1))
        out += [served[key][rows[0]], served[key][rows[-1]]] if len(rows) else [0.0, 0.0]
    return np.array(out, dtype=np.float64)


def _prefetch_sets(order, words: int, bw: int):
    """USER mode: CSR of the prefetch sets holding each address, the number of sets and of lines."""
    per_set = math.ceil(words / 100)
    valid = order[order >= 0]
    n = len(valid)
    n_sets = -(-n // per_set) + (1 if n % per_set == 0 else 0) if n else 1
    size = int(valid.max()) + 2 if n else 1
    pairs = np.unique(valid * (n_sets + 1) + np.arange(n, dtype=np.int64) // per_set)
    addr, sets = pairs // (n_sets + 1), pairs % (n_sets + 1)
    ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(addr, minlength=size), out=ptr[1:size + 1])
    ptr[size] = ptr[size - 1] if size else 0
    return ptr, sets.astype(np.int64), n_sets, -(-len(order) // bw)


# Up to this many request slots in a process the plain reference is quicker than importing Numba
# and loading the cached kernel (whole-process start-up of `archsim simulate` on a small trace):
# the reference takes well under a microsecond per slot, Numba's start-up about a second (both
# measured by benchmarks/bench_process_vs_scalesim.py). A layer that would take the process past
# it (a big layer, or the many layers of a batch or a sweep) loads the kernel, which then runs
# every layer. Both give identical numbers (tested on every harness case).
AUTO_REFERENCE_SLOTS = 1_500_000
_reference_slots_spent = 0              # by the reference in this process (backend "auto")


def request_slots(df: str, R: int, C: int, g: Geometry) -> int:
    """Slots of the three request streams (cycles x widths): the replay's work."""
    Sr, Sc, T = spatio_temporal(df, g.P, g.K, g.N)
    folds = -(-Sr // R) * -(-Sc // C)
    lines = folds * (R + C + T - 2 if df == "os" else 2 * R + C + T - 2)
    return lines * (R + 2 * C)


def replay(df: str, R: int, C: int, g: Geometry, mem: Memory, backend: str = "auto") -> dict:
    """Every figure of SCALE-Sim's three reports for one layer (its column names). ``backend``:
    ``numba`` (the kernel), ``reference`` (the specification), ``auto`` (the reference for small
    layers, see AUTO_REFERENCE_SLOTS, else the kernel)."""
    geom, m = _encode(g, mem, C)
    if backend == "auto":
        global _reference_slots_spent
        kernels = sys.modules.get("archsim.kernels.scalesim_replay")     # compiled in this process already
        loaded = kernels is not None and bool(getattr(kernels._replay_kernel, "signatures", None))
        slots = request_slots(df, R, C, g)
        backend = "numba" if loaded or _reference_slots_spent + slots > AUTO_REFERENCE_SLOTS else "reference"
        if backend == "reference":
            _reference_slots_spent += slots
    from archsim.kernels._jit import check_backend
    if check_backend(backend) == "reference":
        raw = replay_raw_reference(DF_CODE[df], R, C, geom, m)
    else:
        from archsim.kernels.scalesim_replay import _replay_kernel

        empty = np.zeros(2, dtype=np.int64)
        if mem.mode == "user":
            A, B, _ = operand_matrices(g)
            if_order, fl_order = prefetch_order(df, R, C, A, B)
            ip, ii, ins, inl = _prefetch_sets(if_order, mem.ifmap_words, mem.ifmap_bw)
            fp, fi, fns, fnl = _prefetch_sets(fl_order, mem.filter_words, mem.filter_bw)
            nsets = np.array([ins, fns, inl, fnl], dtype=np.int64)
        else:
            ip = ii = fp = fi = empty
            nsets = np.zeros(4, dtype=np.int64)
        raw = _replay_kernel(DF_CODE[df], R, C, geom, m, ip, ii, fp, fi, nsets)
    return report(df, R, C, g, raw)


def report(df: str, R: int, C: int, g: Geometry, raw) -> dict:
    """SCALE-Sim's report columns from the replay's raw figures and the layer shape."""
    (total, stall, if_n, if_s, if_e, fl_n, fl_s, fl_e, of_n, of_s, of_e,
     sif_s, sif_e, sfl_s, sfl_e, sof_s, sof_e) = (float(x) for x in raw)
    total, stall = int(total), int(stall)
    P, K, N = g.P, g.K, g.N
    Sr, Sc, T = spatio_temporal(df, P, K, N)
    Fr, Fc = -(-Sr // R), -(-Sc // C)
    F = Fr * Fc
    util_den = R + C + T - 2 if df == "os" else 2 * R + 2 * C + T - 3
    # SCALE-Sim counts the slots of windows past the edge as ifmap reads (-1 requests included)
    sram_if = {"ws": Fc * P * K, "os": Fc * P * K, "is": P * K}[df]
    sram_fl = {"ws": K * N, "os": Fr * K * N, "is": Fc * K * N}[df]
    # its output-stationary class adds rows + cols per fold to the ofmap writes
    sram_of = P * N + F * (R + C) if df == "os" else Fr * P * N
    out = {"Total Cycles": total, "Stall Cycles": stall,
           "Overall Util %": P * N * K * 100 / (total * R * C),
           "Mapping Efficiency %": Sr * Sc / (F * R * C) * 100,
           "Compute Util %": Sr * Sc * T / (F * R * C * util_den) * 100,
           "SRAM IFMAP Start Cycle": sif_s, "SRAM IFMAP Stop Cycle": sif_e, "SRAM IFMAP Reads": sram_if,
           "SRAM Filter Start Cycle": sfl_s, "SRAM Filter Stop Cycle": sfl_e, "SRAM Filter Reads": sram_fl,
           "SRAM OFMAP Start Cycle": sof_s, "SRAM OFMAP Stop Cycle": sof_e, "SRAM OFMAP Writes": sram_of,
           "DRAM IFMAP Start Cycle": if_s, "DRAM IFMAP Stop Cycle": if_e, "DRAM IFMAP Reads": int(if_n),
           "DRAM Filter Start Cycle": fl_s, "DRAM Filter Stop Cycle": fl_e, "DRAM Filter Reads": int(fl_n),
           "DRAM OFMAP Start Cycle": of_s, "DRAM OFMAP Stop Cycle": of_e, "DRAM OFMAP Writes": int(of_n),
           "Total Cycles (incl. prefetch)": int(of_e - min(if_s, fl_s)),
           "Avg IFMAP SRAM BW": sram_if / total, "Avg FILTER SRAM BW": sram_fl / total,
           "Avg OFMAP SRAM BW": sram_of / total,
           "Avg IFMAP DRAM BW": if_n / (if_e - if_s + 1), "Avg FILTER DRAM BW": fl_n / (fl_e - fl_s + 1),
           "Avg OFMAP DRAM BW": of_n / (of_e - of_s + 1)}
    return out


# -- one traced op ------------------------------------------------------------------------------

def op_geometry(op, M: int, K: int, N: int, images: int) -> Geometry:
    """SCALE-Sim's view of one product of a traced GEMM op (``images``: timesteps streamed together).

    A conv imported from a SCALE-Sim topology (tag ``scalesim_partial_windows``) keeps its unpadded
    input, whose last windows run past the edge (SCALE-Sim fetches nothing there). Any other
    padded conv is the unpadded layer a SCALE-Sim user writes for it: input ``(out - 1) * stride +
    dilation * (kernel - 1) + 1``, the padding words being data (docs/models/systolic.md)."""
    if op.kind != "conv2d":
        return Geometry.gemm(M, K, N)
    if op.tags.get("scalesim_partial_windows"):
        H, W = op.in_h, op.in_w
    else:
        H = (op.out_h - 1) * op.stride_h + op.dilation_h * (op.kernel_h - 1) + 1
        W = (op.out_w - 1) * op.stride_w + op.dilation_w * (op.kernel_w - 1) + 1
    g = Geometry(H=H, W=W, C=op.in_channels // op.groups, Fh=op.kernel_h, Fw=op.kernel_w,
                 stride_h=op.stride_h, stride_w=op.stride_w, Eh=op.out_h, Ew=op.out_w, N=N,
                 images=op.batch * images, dilation_h=op.dilation_h, dilation_w=op.dilation_w)
    assert g.P == M and g.K == K, (g, M, K)
    return g


def memory_of(params) -> Memory:
    """The buffers of a ``systolic`` params block in SCALE-Sim's terms (1-byte words)."""
    words = {k: int(getattr(params, f"{k}_sram_kib") * 1024) for k in ("ifmap", "filter", "ofmap")}
    bw = params.dram_bytes_per_cycle
    if bw is None:
        return Memory(words["ifmap"], words["filter"], words["ofmap"], mode="calc",
                      active_fraction=params.sram_active_fraction)
    return Memory(words["ifmap"], words["filter"], words["ofmap"], mode="user", ifmap_bw=int(bw.ifmap),
                  filter_bw=int(bw.filter), ofmap_bw=int(bw.ofmap), active_fraction=params.sram_active_fraction)


@functools.lru_cache(maxsize=4096)
def _replay_cached(df: str, R: int, C: int, g: Geometry, mem: Memory) -> dict:
    return replay(df, R, C, g, mem)


def replay_op(op, params, M: int, K: int, N: int, images: int) -> dict:
    """SCALE-Sim's report figures for one product (group) of ``op`` on the array of ``params``."""
    return _replay_cached(params.dataflow, params.rows, params.cols, op_geometry(op, M, K, N, images),
                          memory_of(params))
