"""The bit-serial, bit-sliced crossbar matrix product with per-read noise and ADCs.

The stationary operand is already programmed: ``G`` holds every cell's conductance as an integer
on a fixed-point grid (``inv_unit`` converts a sum of them to "levels", one level being one
conductance step of a cell times one input step), ``G2`` its square on a coarser grid
(``inv_unit2`` converts the square root of a sum of them). For every row group ``g``
(the rows one ADC conversion sums), input plane ``p`` (a digit of the bit-serial input) and
input vector ``m``, every column ``j`` reads

    v = (sum_i d[p,m,i] G[i,j] - gmin * sum_i d[p,m,i]) * inv_unit
        + read_sigma * sqrt(sum_i d[p,m,i]^2 G2[i,j]) * inv_unit2 * z[g,p,m,j]

i.e. the column current minus the G_min reference current, in levels, plus the sum of every
cell's proportional read noise G (1 + N(0, read_sigma^2)) (a sum of independent Gaussians is one
Gaussian with the summed variance). The ADC then quantises ``v`` (``adc_mode`` 0: ideal, 1: a
fixed range ``[0, full_scale[g]]``, 2: the min..max range of the (g, p) partial-sum tensor) to
``2^adc_bits`` codes, and the result is shifted and added: ``out[m, j] += plane_weight[p] * q``.

Sums are exact: ``G`` is integer and every partial sum stays below 2^53, so the numpy reference
(BLAS on integer-valued floats) and the kernel (int32/int64) agree bit for bit. The noise ``z``
is counter-based (SplitMix64 hashes of the key and the element's index feeding a ziggurat), so
the draws do not depend on the order of evaluation, the backend or the number of threads.

The kernel's speed: column chunks run in parallel; within a chunk the column loops are
branch-free so LLVM vectorises them; 0/1 input planes take the rows four at a time through a
16-entry table of partial sums; the ziggurat's fast path runs over a whole chunk and only the
rare slow draws are redone.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange   # plain range when called from Python (JIT off)

from archsim.kernels._jit import check_backend, kernel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_S30, _S27, _S31, _S32 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(32)
_INV_2_32 = 2.0 ** -32

ADC_IDEAL, ADC_FIXED, ADC_DYNAMIC = 0, 1, 2
_LOW_BIT = np.array([0, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0], dtype=np.int64)   # lowest set bit of 0..15
_POPCOUNT = np.array([bin(i).count("1") for i in range(16)], dtype=np.int64)
CHUNK = 128   # columns per work item: a chunk of G and G2 stays in cache while all vectors pass


# --- counter-based normal draws (ziggurat) ------------------------------------------------------
# A draw is a function of (key, counter) alone: SplitMix64 hashes of key, a stream number s and the
# counter feed Marsaglia & Tsang's ziggurat (256 layers). The fast path (98.5 % of draws) needs no
# transcendental function; the wedge and the tail (Marsaglia's exponential method) draw further
# hashes from streams s = 1, 2, ... in a fixed order, so the kernel and the vectorised reference
# take the same path for every element.

_GOLDEN2 = np.uint64(0xD1B54A32D192ED03)
_S8, _S11 = np.uint64(8), np.uint64(11)
_L255, _L1 = np.uint64(255), np.uint64(1)
_INV_2_53 = 2.0 ** -53
ZIG_R = 3.6541528853610088           # right edge of the base layer (256 layers)
ZIG_V = 0.00492867323399             # area of every layer


def _ziggurat_tables():
    f = lambda v: math.exp(-0.5 * v * v)  # noqa: E731
    x = [ZIG_V / f(ZIG_R), ZIG_R]
    for _ in range(1, 255):
        x.append(math.sqrt(-2.0 * math.log(ZIG_V / x[-1] + f(x[-1]))))
    x.append(0.0)
    x = np.array(x)
    return x, np.exp(-0.5 * x * x)


ZIG_X, ZIG_F = _ziggurat_tables()      # 257 layer edges and exp(-x^2/2) at them


def _mix_reference(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@kernel(reference=_mix_reference, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


def normal_reference(key, counters):
    """N(0, 1) draws, one per counter (uint64 array), for the uint64 ``key``."""
    key = np.uint64(key)
    c = np.asarray(counters, dtype=np.uint64)
    shape = c.shape
    c = c.reshape(-1)

    def fields(h):
        i = (h & _L255).astype(np.int64)
        neg = ((h >> _S8) & _L1).astype(bool)
        x = (h >> _S11).astype(np.float64) * _INV_2_53 * ZIG_X[i]
        return i, neg, x

    out = np.empty(c.size)
    i, neg, x = fields(_mix_reference(_mix_reference(key) + c * _GOLDEN))
    fast = x < ZIG_X[i + 1]
    out[fast] = np.where(neg[fast], -x[fast], x[fast])
    idx = np.flatnonzero(~fast)
    i, neg, x = i[idx], neg[idx], x[idx]
    s = np.ones(idx.size, dtype=np.uint64)
    while idx.size:
        hw = _mix_reference(_mix_reference(key + s * _GOLDEN2) + c[idx] * _GOLDEN)
        s = s + _L1
        tail = i == 0
        ua = ((hw >> _S32).astype(np.float64) + 1.0) * _INV_2_32
        ub = ((hw & _LOW32).astype(np.float64) + 1.0) * _INV_2_32
        xt = -np.log(ua) / ZIG_R
        yt = -np.log(ub)
        uc = (hw >> _S11).astype(np.float64) * _INV_2_53
        acc_tail = tail & (yt + yt > xt * xt)
        acc_wedge = ~tail & (ZIG_F[i] + uc * (ZIG_F[i + 1] - ZIG_F[i]) < np.exp(-0.5 * x * x))
        value = np.where(acc_tail, ZIG_R + xt, x)
        done = acc_tail | acc_wedge
        redraw = ~tail & ~acc_wedge
        if redraw.any():
            h = _mix_reference(_mix_reference(key + s[redraw] * _GOLDEN2) + c[idx[redraw]] * _GOLDEN)
            s[redraw] += _L1
            ni, nneg, nx = fields(h)
            i[redraw], neg[redraw], x[redraw] = ni, nneg, nx
            quick = np.zeros(idx.size, dtype=bool)
            quick[redraw] = nx < ZIG_X[ni + 1]
            value = np.where(quick, x, value)
            done |= quick
        out[idx[done]] = np.where(neg[done], -value[done], value[done])
        keep = ~done
        idx, i, neg, x, s = idx[keep], i[keep], neg[keep], x[keep], s[keep]
    return out.reshape(shape)


@kernel(reference=normal_reference)
def _normal(key, counter):
    cg = counter * _GOLDEN
    h = _mix(_mix(key) + cg)
    i = np.int64(h & _L255)
    neg = (h >> _S8) & _L1
    x = np.float64(h >> _S11) * _INV_2_53 * ZIG_X[i]
    if x < ZIG_X[i + 1]:
        return -x if neg else x
    s = np.uint64(1)
    while True:
        hw = _mix(_mix(key + s * _GOLDEN2) + cg)
        s += _L1
        if i == 0:
            xt = -math.log((np.float64(hw >> _S32) + 1.0) * _INV_2_32) / ZIG_R
            yt = -math.log((np.float64(hw & _LOW32) + 1.0) * _INV_2_32)
            if yt + yt > xt * xt:
                return -(ZIG_R + xt) if neg else ZIG_R + xt
            continue
        uc = np.float64(hw >> _S11) * _INV_2_53
        if ZIG_F[i] + uc * (ZIG_F[i + 1] - ZIG_F[i]) < math.exp(-0.5 * x * x):
            return -x if neg else x
        h = _mix(_mix(key + s * _GOLDEN2) + cg)
        s += _L1
        i = np.int64(h & _L255)
        neg = (h >> _S8) & _L1
        x = np.float64(h >> _S11) * _INV_2_53 * ZIG_X[i]
        if x < ZIG_X[i + 1]:
            return -x if neg else x


@kernel(reference=normal_reference)
def _normal_array(key, counters):
    out = np.empty(counters.shape[0])
    for k in range(counters.shape[0]):
        out[k] = _normal(key, counters[k])
    return out


def normal(key: int, counters, backend: str = "numba"):
    """Public entry: one N(0, 1) draw per counter, the same on both backends."""
    check_backend(backend)
    counters = np.asarray(counters, dtype=np.uint64)
    if backend == "reference":
        with np.errstate(over="ignore"):
            return normal_reference(key, counters)
    return _normal_array(np.uint64(key), np.ascontiguousarray(counters.reshape(-1))).reshape(counters.shape)


# --- ADC ---------------------------------------------------------------------------------------

def adc_quantize_reference(v, lo, inv_step, step, max_code):
    """Round ``v`` to the nearest of ``lo + k step``, ``k = 0..max_code``; ``step`` 0 means no
    quantisation (an ideal ADC, or a constant tensor)."""
    if step <= 0.0:
        return v
    code = np.floor((v - lo) * inv_step + 0.5)
    return lo + np.clip(code, 0.0, max_code) * step


def adc_range(v_min, v_max, mode, bits, full_scale):
    """(lo, 1/step, step, max_code) of the ADC for one partial-sum tensor."""
    max_code = float(2 ** bits - 1)
    if mode == ADC_IDEAL:
        return 0.0, 0.0, 0.0, max_code
    lo, step = (0.0, full_scale / max_code) if mode == ADC_FIXED else (v_min, (v_max - v_min) / max_code)
    return lo, (1.0 / step if step > 0.0 else 0.0), step, max_code


# --- the crossbar product ----------------------------------------------------------------------

def crossbar_mvm_reference(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, key,
                           adc_mode, adc_bits, full_scale):
    """The specification (see the module docstring). ``digits``: (P, M, K) uint8 input digits;
    ``G``, ``G2``: (K, NC) int64; ``starts``: (groups + 1,) row-group boundaries; returns the
    shifted-and-added ADC outputs (M, NC) in levels. Noise counter of element (g, p, m, j):
    ``((g P + p) M + m) NC + j``."""
    P, M, _ = digits.shape
    NC = G.shape[1]
    Gf, G2f = G.astype(np.float64), G2.astype(np.float64)
    out = np.zeros((M, NC))
    for g in range(len(starts) - 1):
        rows = slice(starts[g], starts[g + 1])
        for p in range(P):
            D = digits[p][:, rows].astype(np.float64)
            v = (D @ Gf[rows] - gmin_int * D.sum(axis=1)[:, None]) * inv_unit
            if read_sigma > 0.0:
                s2 = (D * D) @ G2f[rows]
                counters = np.uint64((g * P + p) * M * NC) + np.arange(M * NC, dtype=np.uint64).reshape(M, NC)
                v = v + read_sigma * np.sqrt(s2) * inv_unit2 * normal_reference(key, counters)
            lo, inv_step, step, max_code = adc_range(v.min(), v.max(), adc_mode, adc_bits, full_scale[g])
            out += plane_weights[p] * adc_quantize_reference(v, lo, inv_step, step, max_code)
    return out


@kernel(reference=crossbar_mvm_reference)
def _mvm_chunk(digits, G, G2, p, r0, r1, j0, width, gmin_int, inv_unit, inv_unit2, read_sigma, key, counter0,
               w, lo, inv_step, step, max_code, fused, binary, patterns, set0, out, scratch):
    """Columns ``j0 .. j0 + width`` of one (row group, plane) for every input vector: the part
    of ``_crossbar_mvm`` one thread runs. Serial and branch-free in the column loops, so LLVM
    vectorises them; the ziggurat's fast path is evaluated for the whole chunk first and the
    rare slow draws are redone by ``_normal``."""
    M = digits.shape[1]
    NC = G.shape[1]
    noisy = read_sigma > 0.0
    s = np.empty(width, dtype=G.dtype)
    s2 = np.zeros(width, dtype=G2.dtype)
    z = np.zeros(width)
    fast = np.zeros(width, dtype=np.bool_)
    v = np.empty(width)
    key0 = _mix(key)
    if binary:
        # 0/1 inputs: the rows are taken four at a time through a table of the 16 partial sums of
        # each quartet (built once per chunk), halving the additions of the sparse row loop.
        nsets = (r1 - r0 + 3) // 4
        lut = np.empty((nsets, 16, width), dtype=G.dtype)
        lut2 = np.empty((nsets if noisy else 0, 16, width), dtype=G2.dtype)
        for q in range(nsets):
            lut[q, 0, :] = 0
            if noisy:
                lut2[q, 0, :] = 0
            for pat in range(1, 16):
                prev = pat & (pat - 1)
                row = r0 + 4 * q + _LOW_BIT[pat]
                if row < r1:
                    gi = G[row, j0:j0 + width]
                    for jj in range(width):
                        lut[q, pat, jj] = lut[q, prev, jj] + gi[jj]
                    if noisy:
                        g2i = G2[row, j0:j0 + width]
                        for jj in range(width):
                            lut2[q, pat, jj] = lut2[q, prev, jj] + g2i[jj]
                else:
                    lut[q, pat, :] = lut[q, prev, :]
                    if noisy:
                        lut2[q, pat, :] = lut2[q, prev, :]
    for m in range(M):
        s[:] = 0
        if noisy:
            s2[:] = 0
        n_on = 0
        if binary:
            for q in range(nsets):
                pat = patterns[p, m, set0 + q]
                if pat == 0:
                    continue
                n_on += _POPCOUNT[pat]
                li = lut[q, pat]
                for jj in range(width):
                    s[jj] += li[jj]
                if noisy:
                    l2 = lut2[q, pat]
                    for jj in range(width):
                        s2[jj] += l2[jj]
        else:
            for i in range(r0, r1):
                d = digits[p, m, i]
                if d == 0:
                    continue
                n_on += d
                gi = G[i, j0:j0 + width]       # a slice: its loop indices are known non-negative,
                if d == 1:                     # which lets LLVM vectorise the adds
                    for jj in range(width):
                        s[jj] += gi[jj]
                else:
                    for jj in range(width):
                        s[jj] += d * gi[jj]
                if noisy:
                    g2i = G2[i, j0:j0 + width]
                    if d == 1:
                        for jj in range(width):
                            s2[jj] += g2i[jj]
                    else:
                        for jj in range(width):
                            s2[jj] += d * d * g2i[jj]
        off = gmin_int * n_on
        if noisy:
            base = counter0 + np.uint64(m * NC + j0)
            for jj in range(width):          # ziggurat fast path (see _normal)
                h = _mix(key0 + (base + np.uint64(jj)) * _GOLDEN)
                li = np.int64(h & _L255)
                x = np.float64(h >> _S11) * _INV_2_53 * ZIG_X[li]
                fast[jj] = x < ZIG_X[li + 1]
                z[jj] = -x if (h >> _S8) & _L1 else x
            for jj in range(width):
                if not fast[jj]:
                    z[jj] = _normal(key, base + np.uint64(jj))
            for jj in range(width):
                v[jj] = np.float64(np.int64(s[jj]) - off) * inv_unit \
                    + read_sigma * math.sqrt(np.float64(s2[jj])) * inv_unit2 * z[jj]
        else:
            for jj in range(width):
                v[jj] = np.float64(np.int64(s[jj]) - off) * inv_unit
        if not fused:
            for jj in range(width):
                scratch[m, j0 + jj] = v[jj]
        elif step > 0.0:
            for jj in range(width):   # clamp, then truncate: = clip(floor(.), 0, max_code), vectorisable
                code = np.float64(np.int64(min(max((v[jj] - lo) * inv_step + 0.5, 0.0), max_code)))
                out[m, j0 + jj] += w * (lo + code * step)
        else:
            for jj in range(width):
                out[m, j0 + jj] += w * v[jj]


@kernel(reference=crossbar_mvm_reference, parallel=True)
def _crossbar_mvm(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, key,
                  adc_mode, adc_bits, full_scale):
    P, M, _ = digits.shape
    NC = G.shape[1]
    out = np.zeros((M, NC))
    n_chunks = (NC + CHUNK - 1) // CHUNK
    fused = adc_mode != ADC_DYNAMIC
    binary = digits.max() <= 1
    # 0/1 inputs: each row group's rows in quartets, each quartet's bits packed once per call
    n_groups = starts.shape[0] - 1
    set_starts = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        set_starts[g + 1] = set_starts[g] + ((starts[g + 1] - starts[g] + 3) // 4 if binary else 0)
    patterns = np.zeros((P, M, set_starts[n_groups]), dtype=np.uint8)
    if binary:
        for p in prange(P):
            for m in range(M):
                for g in range(n_groups):
                    for i in range(starts[g], starts[g + 1]):
                        q = set_starts[g] + (i - starts[g]) // 4
                        patterns[p, m, q] |= digits[p, m, i] << ((i - starts[g]) % 4)
    scratch = np.empty((M, NC)) if not fused else np.empty((1, 1))
    max_code = float(2 ** adc_bits - 1)
    for g in range(starts.shape[0] - 1):
        for p in range(P):
            lo, inv_step, step = 0.0, 0.0, 0.0
            if adc_mode == ADC_FIXED:
                step = full_scale[g] / max_code
                inv_step = 1.0 / step
            counter0 = np.uint64((g * P + p) * M * NC)
            for c in prange(n_chunks):
                j0 = c * CHUNK
                _mvm_chunk(digits, G, G2, p, starts[g], starts[g + 1], j0, min(CHUNK, NC - j0), gmin_int,
                           inv_unit, inv_unit2, read_sigma, key, counter0, plane_weights[p], lo, inv_step, step, max_code,
                           fused, binary, patterns, set_starts[g], out, scratch)
            if not fused:
                v_min, v_max = scratch.min(), scratch.max()
                lo, step = v_min, (v_max - v_min) / max_code
                inv_step = 1.0 / step if step > 0.0 else 0.0
                w = plane_weights[p]
                for m in prange(M):
                    if step > 0.0:
                        for j in range(NC):
                            code = np.float64(np.int64(min(max((scratch[m, j] - lo) * inv_step + 0.5, 0.0), max_code)))
                            out[m, j] += w * (lo + code * step)
                    else:
                        for j in range(NC):
                            out[m, j] += w * scratch[m, j]
    return out


def crossbar_mvm(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, key,
                 adc_mode, adc_bits, full_scale, backend: str = "numba"):
    """Validate and dispatch (see the module docstring). ``G`` and ``G2`` may be int32 or int64
    (the caller picks int32 when every partial sum fits); ``inv_unit2`` converts sqrt of a sum of
    ``G2`` to levels."""
    check_backend(backend)
    digits = np.ascontiguousarray(digits, dtype=np.uint8)
    G, G2 = np.ascontiguousarray(G), np.ascontiguousarray(G2)
    if G.dtype not in (np.int32, np.int64) or G2.dtype not in (np.int32, np.int64):
        raise ValueError(f"G and G2 must be int32 or int64, got {G.dtype} and {G2.dtype}")
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    plane_weights = np.ascontiguousarray(plane_weights, dtype=np.float64)
    full_scale = np.ascontiguousarray(full_scale, dtype=np.float64)
    P, M, K = digits.shape
    if G.shape[0] != K or G2.shape != G.shape:
        raise ValueError(f"G {G.shape} / G2 {G2.shape} do not match {K} input rows")
    if starts[0] != 0 or starts[-1] != K or np.any(np.diff(starts) <= 0):
        raise ValueError("row-group starts must rise strictly from 0 to K")
    if len(plane_weights) != P or len(full_scale) != len(starts) - 1:
        raise ValueError("one plane weight per input plane and one full scale per row group")
    if adc_mode not in (ADC_IDEAL, ADC_FIXED, ADC_DYNAMIC):
        raise ValueError(f"unknown ADC mode {adc_mode}")
    args = (digits, G, G2, starts, plane_weights, np.int64(gmin_int), float(inv_unit), float(inv_unit2),
            float(read_sigma), np.uint64(key), int(adc_mode), int(adc_bits), full_scale)
    if backend == "reference":
        with np.errstate(over="ignore"):
            return crossbar_mvm_reference(*args)
    return _crossbar_mvm(*args)
