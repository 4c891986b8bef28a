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

The kernel's speed: one call takes a batch of independent products (the per-head K^T and V of
attention) and has one or two parallel loops over (product, column chunk) items, or over
products, so a small product costs no thread rendezvous per plane; within an item the column
loops are branch-free so LLVM vectorises them (integer sums are converted to float as int32
where they fit: AVX2 has no vector int64 -> float conversion); 0/1 input planes take the rows
four at a time through a 16-entry table of partial sums, built once per row group and chunk
and shared by every plane; each output row is loaded and stored once per row group; the
ziggurat's fast path runs over a whole row and only the rare slow draws are redone.
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


def crossbar_mvm_batch_reference(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma,
                                 keys, adc_mode, adc_bits, full_scale):
    """A batch of independent products: ``digits`` (B, P, M, K), ``G``/``G2`` (B, K, NC), one noise
    key per product; (B, M, NC). The same math as :func:`crossbar_mvm_reference`, product by product."""
    return np.stack([crossbar_mvm_reference(digits[b], G[b], G2[b], starts, plane_weights, gmin_int, inv_unit,
                                            inv_unit2, read_sigma, keys[b], adc_mode, adc_bits, full_scale)
                     for b in range(digits.shape[0])])


@kernel(reference=crossbar_mvm_reference)
def _build_lut(G, G2, b, r0, r1, j0, width, noisy, lut, lut2):
    """The 16 partial sums of every quartet of rows ``r0..r1`` over columns ``j0 .. j0 + width``
    (pattern bit t set: row 4 q + t included); ``lut2`` the same of ``G2`` when ``noisy``."""
    nsets = (r1 - r0 + 3) // 4
    for q in range(nsets):
        for jj in range(width):
            lut[q, 0, jj] = 0
        if noisy:
            for jj in range(width):
                lut2[q, 0, jj] = 0
        for pat in range(1, 16):
            prev = pat & (pat - 1)
            row = r0 + 4 * q + _LOW_BIT[pat]
            if row < r1:
                gi = G[b, row, j0:j0 + width]
                for jj in range(width):
                    lut[q, pat, jj] = lut[q, prev, jj] + gi[jj]
                if noisy:
                    g2i = G2[b, row, j0:j0 + width]
                    for jj in range(width):
                        lut2[q, pat, jj] = lut2[q, prev, jj] + g2i[jj]
            else:
                for jj in range(width):
                    lut[q, pat, jj] = lut[q, prev, jj]
                if noisy:
                    for jj in range(width):
                        lut2[q, pat, jj] = lut2[q, prev, jj]


@kernel(reference=crossbar_mvm_reference)
def _row_patterns(digits, starts, set_base, pats):
    """``pats[b, p, m, set_base[g] + q]``: the 4-bit pattern of 0/1 digits of rows ``r0 + 4q ..
    r0 + 4q + 3`` of row group ``g`` (bit t: row ``r0 + 4q + t``), built once per call instead of
    once per column chunk and pass."""
    B, P, M = digits.shape[0], digits.shape[1], digits.shape[2]
    for bp in range(B * P):
        b, p = bp // P, bp % P
        for m in range(M):
            for g in range(starts.shape[0] - 1):
                r0, r1 = starts[g], starts[g + 1]
                for q in range((r1 - r0 + 3) // 4):
                    i = r0 + 4 * q
                    pat = 0
                    for t in range(min(4, r1 - i)):
                        pat |= np.int64(digits[b, p, m, i + t]) << t
                    pats[b, p, m, set_base[g] + q] = pat


@kernel(reference=crossbar_mvm_reference, inline="always")
def _row_sums(digits, G, G2, b, p, m, r0, r1, j0, width, binary, pats, base, lut, lut2, noisy, s, s2):
    """``s[:width]`` (and ``s2`` when ``noisy``): the integer column sums of columns ``j0 .. j0 +
    width`` read by input vector ``m`` of plane ``p`` through rows ``r0..r1`` of product ``b``;
    returns the sum of the digits (for the G_min reference current). Branch-free column loops,
    so LLVM vectorises them."""
    for jj in range(width):
        s[jj] = 0
    if noisy:
        for jj in range(width):
            s2[jj] = 0
    n_on = 0
    if binary:   # 0/1 inputs: four rows per addition through the table of their partial sums
        for q in range((r1 - r0 + 3) // 4):
            pat = np.int64(pats[b, p, m, base + q])
            if pat == 0:
                continue
            n_on += _POPCOUNT[pat]
            for jj in range(width):
                s[jj] += lut[q, pat, jj]
            if noisy:
                for jj in range(width):
                    s2[jj] += lut2[q, pat, jj]
    else:
        for i in range(r0, r1):
            d = np.int64(digits[b, p, m, i])
            if d == 0:
                continue
            n_on += d
            gi = G[b, i, j0:j0 + width]        # a slice: its loop indices are known non-negative,
            if d == 1:                         # which lets LLVM vectorise the adds
                for jj in range(width):
                    s[jj] += gi[jj]
            else:
                for jj in range(width):
                    s[jj] += d * gi[jj]
            if noisy:
                g2i = G2[b, i, j0:j0 + width]
                if d == 1:
                    for jj in range(width):
                        s2[jj] += g2i[jj]
                else:
                    for jj in range(width):
                        s2[jj] += d * d * g2i[jj]
    return n_on


@kernel(reference=crossbar_mvm_reference, inline="always")
def _row_values(digits, G, G2, b, p, m, r0, r1, j0, width, binary, pats, base, lut, lut2, gmin_int, inv_unit,
                inv_unit2, read_sigma, key, key0, counter, s, s2, z, fast, v):
    """``v[:width]``: the values of columns ``j0 .. j0 + width`` read by input vector ``m`` of plane
    ``p`` through row group ``r0..r1`` of product ``b`` (``counter``: the noise counter of the
    first column). The ziggurat's fast path runs over the whole row and only the rare slow draws
    are redone by ``_normal``."""
    noisy = read_sigma > 0.0
    n_on = _row_sums(digits, G, G2, b, p, m, r0, r1, j0, width, binary, pats, base, lut, lut2, noisy, s, s2)
    off = np.float64(gmin_int * n_on)       # exact: every sum here is an integer below 2^53, so
    if noisy:                                # float(s) - float(off) = float(s - off), and the
        for jj in range(width):              # int32 -> float conversion vectorises (int64's does not)
            h = _mix(key0 + (counter + np.uint64(jj)) * _GOLDEN)
            li8 = np.int64(h & _L255)
            x = np.float64(h >> _S11) * _INV_2_53 * ZIG_X[li8]
            fast[jj] = x < ZIG_X[li8 + 1]
            z[jj] = -x if (h >> _S8) & _L1 else x
        for jj in range(width):
            if not fast[jj]:
                z[jj] = _normal(key, counter + np.uint64(jj))
        for jj in range(width):
            v[jj] = (np.float64(s[jj]) - off) * inv_unit + read_sigma * math.sqrt(np.float64(s2[jj])) * inv_unit2 * z[jj]
    else:
        for jj in range(width):
            v[jj] = (np.float64(s[jj]) - off) * inv_unit


@kernel(reference=crossbar_mvm_reference, inline="always")
def _row_range(digits, G, G2, b, p, m, r0, r1, j0, width, binary, pats, base, lut, lut2, gmin_int, inv_unit, s, s2):
    """(min, max) of the noise-free values of a row (see ``_row_values``) from the integer sums'
    min and max: a value is ``(float(s) - off) * inv_unit``, monotonic in ``s``, so the extremes
    are the same numbers without converting every sum."""
    n_on = _row_sums(digits, G, G2, b, p, m, r0, r1, j0, width, binary, pats, base, lut, lut2, False, s, s2)
    s_lo, s_hi = s[0], s[0]
    for jj in range(1, width):
        s_lo = min(s_lo, s[jj])
        s_hi = max(s_hi, s[jj])
    off = np.float64(gmin_int * n_on)
    a, c = (np.float64(s_lo) - off) * inv_unit, (np.float64(s_hi) - off) * inv_unit
    return min(a, c), max(a, c)


@kernel(reference=crossbar_mvm_reference)
def _chunk_pass(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, keys, binary,
                pats, set_base, b, c, j0, wd, n_lut, apply, los, inv_steps, steps, max_code, lows, highs, out):
    """One work item: columns ``j0 .. j0 + wd`` (chunk ``c``) of product ``b``, every row group,
    plane and input vector, the planes innermost so that each output row is loaded and stored
    once per row group. ``apply``: quantise with the (group, plane) ranges ``los``/``steps`` (step
    0: no quantisation) and add into ``out`` in the reference's order (plane by plane); else only
    record each (group, plane)'s min and max in ``lows``/``highs[b, g, p, c]``."""
    P, M = digits.shape[1], digits.shape[2]
    NC = G.shape[2]
    noisy = read_sigma > 0.0
    s, s2 = np.empty(wd, dtype=G.dtype), np.zeros(wd, dtype=G2.dtype)
    z, fast, v, acc = np.zeros(wd), np.zeros(wd, dtype=np.bool_), np.empty(wd), np.empty(wd)
    lut = np.empty((n_lut, 16, wd), dtype=G.dtype)
    lut2 = np.empty((n_lut if noisy else 0, 16, wd), dtype=G2.dtype)
    key = keys[b]
    key0 = _mix(key)
    for g in range(starts.shape[0] - 1):
        r0, r1 = starts[g], starts[g + 1]
        if binary:
            _build_lut(G, G2, b, r0, r1, j0, wd, noisy, lut, lut2)
        if not apply:
            for p in range(P):
                lows[b, g, p, c], highs[b, g, p, c] = np.inf, -np.inf
        for m in range(M):
            if apply:
                for jj in range(wd):
                    acc[jj] = out[b, m, j0 + jj]
            for p in range(P):
                if not (apply or noisy):     # the range alone: from the integer sums' extremes
                    lo_v, hi_v = _row_range(digits, G, G2, b, p, m, r0, r1, j0, wd, binary, pats, set_base[g], lut,
                                            lut2, gmin_int, inv_unit, s, s2)
                    lows[b, g, p, c] = min(lows[b, g, p, c], lo_v)
                    highs[b, g, p, c] = max(highs[b, g, p, c], hi_v)
                    continue
                counter = np.uint64(((g * P + p) * M + m) * NC + j0)
                _row_values(digits, G, G2, b, p, m, r0, r1, j0, wd, binary, pats, set_base[g], lut, lut2, gmin_int,
                            inv_unit, inv_unit2, read_sigma, key, key0, counter, s, s2, z, fast, v)
                if not apply:
                    lo_v, hi_v = lows[b, g, p, c], highs[b, g, p, c]
                    for jj in range(wd):
                        lo_v = min(lo_v, v[jj])
                        hi_v = max(hi_v, v[jj])
                    lows[b, g, p, c], highs[b, g, p, c] = lo_v, hi_v
                    continue
                w, lo, inv_step, step = plane_weights[p], los[b, g, p], inv_steps[b, g, p], steps[b, g, p]
                if step > 0.0:
                    for jj in range(wd):   # clamp, then floor: = clip(floor(.), 0, max_code), vectorisable
                        code = np.floor(min(max((v[jj] - lo) * inv_step + 0.5, 0.0), max_code))
                        acc[jj] += w * (lo + code * step)
                else:
                    for jj in range(wd):
                        acc[jj] += w * v[jj]
            if apply:
                for jj in range(wd):
                    out[b, m, j0 + jj] = acc[jj]


@kernel(reference=crossbar_mvm_reference)
def _stored_pass(digits, G, G2, starts, gmin_int, inv_unit, inv_unit2, read_sigma, keys, binary,
                 pats, set_base, b, g, p, j0, wd, build, lut, lut2, vals):
    """Columns ``j0 .. j0 + wd`` of one (product, group, plane) into ``vals[m, j0 + jj]``; returns
    their (min, max). ``build``: fill the partial-sum tables ``lut``/``lut2`` first (else they
    hold this group's and chunk's already)."""
    P, M = digits.shape[1], digits.shape[2]
    NC = G.shape[2]
    s, s2 = np.empty(wd, dtype=G.dtype), np.zeros(wd, dtype=G2.dtype)
    z, fast, v = np.zeros(wd), np.zeros(wd, dtype=np.bool_), np.empty(wd)
    r0, r1 = starts[g], starts[g + 1]
    if binary and build:
        _build_lut(G, G2, b, r0, r1, j0, wd, read_sigma > 0.0, lut, lut2)
    key = keys[b]
    key0 = _mix(key)
    lo_v, hi_v = np.inf, -np.inf
    for m in range(M):
        counter = np.uint64(((g * P + p) * M + m) * NC + j0)
        _row_values(digits, G, G2, b, p, m, r0, r1, j0, wd, binary, pats, set_base[g], lut, lut2, gmin_int, inv_unit,
                    inv_unit2, read_sigma, key, key0, counter, s, s2, z, fast, v)
        for jj in range(wd):
            vals[m, j0 + jj] = v[jj]
            lo_v = min(lo_v, v[jj])
            hi_v = max(hi_v, v[jj])
    return lo_v, hi_v


@kernel(reference=crossbar_mvm_reference)
def _quantize_add(vals, out, b, m0, m1, w, lo, inv_step, step, max_code):
    """Rows ``m0..m1`` of a stored (M, NC) partial-sum tensor through the ADC, ``w`` times into ``out[b]``."""
    NC = vals.shape[1]
    for m in range(m0, m1):
        if step > 0.0:
            for j in range(NC):
                code = np.floor(min(max((vals[m, j] - lo) * inv_step + 0.5, 0.0), max_code))
                out[b, m, j] += w * (lo + code * step)
        else:
            for j in range(NC):
                out[b, m, j] += w * vals[m, j]


@kernel(reference=crossbar_mvm_batch_reference, parallel=True)
def _crossbar_mvm(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, keys,
                  adc_mode, adc_bits, full_scale, binary, width, local):
    """The schedules of :func:`crossbar_mvm_batch`. Fixed or ideal ADCs: one parallel loop over
    (product, column chunk) items. Per-tensor (dynamic) ADCs: with ``local`` (many products, or
    one chunk each), one parallel loop over products, each storing its own values per (group,
    plane) and quantising them; else without read noise, one loop over (product, chunk) records
    each (product, group, plane)'s range, a second recomputes the values and quantises them
    (summing again costs less than storing every value of a large product); with read noise
    (drawing every sample twice would not), per (product, group, plane) a parallel loop over
    column chunks stores the values and one over rows quantises them."""
    B, P, M, _ = digits.shape
    NC = G.shape[2]
    n_groups = starts.shape[0] - 1
    n_chunks = (NC + width - 1) // width
    max_sets = 0
    for g in range(n_groups):
        max_sets = max(max_sets, (starts[g + 1] - starts[g] + 3) // 4)
    n_lut = max_sets if binary else 0
    set_base = np.zeros(n_groups + 1, dtype=np.int64)
    for g in range(n_groups):
        set_base[g + 1] = set_base[g] + (starts[g + 1] - starts[g] + 3) // 4
    pats = np.empty((B, P, M, set_base[n_groups]) if binary else (0, 0, 0, 0), dtype=np.uint8)
    if binary:
        _row_patterns(digits, starts, set_base, pats)
    out = np.zeros((B, M, NC))
    max_code = float(2 ** adc_bits - 1)
    los = np.zeros((B, n_groups, P))
    inv_steps = np.zeros((B, n_groups, P))
    steps = np.zeros((B, n_groups, P))
    if adc_mode == ADC_FIXED:
        for g in range(n_groups):
            steps[:, g, :] = full_scale[g] / max_code
            inv_steps[:, g, :] = 1.0 / (full_scale[g] / max_code)
    if adc_mode != ADC_DYNAMIC or (read_sigma == 0.0 and not local):
        lows = np.empty((B, n_groups, P, n_chunks))
        highs = np.empty((B, n_groups, P, n_chunks))
        # per-tensor ranges first (a pass that records them), then the pass that quantises and adds
        for apply in (adc_mode != ADC_DYNAMIC, True):
            for it in prange(B * n_chunks):
                b, c = it // n_chunks, it % n_chunks
                _chunk_pass(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, keys,
                            binary, pats, set_base, b, c, c * width, min(width, NC - c * width), n_lut, apply, los,
                            inv_steps, steps, max_code, lows, highs, out)
            if apply:
                break
            for b in range(B):
                for g in range(n_groups):
                    for p in range(P):
                        lo, hi = lows[b, g, p].min(), highs[b, g, p].max()
                        los[b, g, p] = lo
                        steps[b, g, p] = (hi - lo) / max_code
                        inv_steps[b, g, p] = 1.0 / steps[b, g, p] if steps[b, g, p] > 0.0 else 0.0
        return out
    n_lut2 = n_lut if read_sigma > 0.0 else 0
    if local:
        for b in prange(B):
            vals = np.empty((M, NC))
            lut = np.empty((n_lut, 16, width), dtype=G.dtype)
            lut2 = np.empty((n_lut2, 16, width), dtype=G2.dtype)
            for g in range(n_groups):
                for p in range(P):
                    lo, hi = np.inf, -np.inf
                    for c in range(n_chunks):    # one chunk: its tables serve every plane
                        lo_c, hi_c = _stored_pass(digits, G, G2, starts, gmin_int, inv_unit, inv_unit2, read_sigma,
                                                  keys, binary, pats, set_base, b, g, p, c * width,
                                                  min(width, NC - c * width),
                                                  n_chunks > 1 or p == 0, lut, lut2, vals)
                        lo, hi = min(lo, lo_c), max(hi, hi_c)
                    step = (hi - lo) / max_code
                    _quantize_add(vals, out, b, 0, M, plane_weights[p], lo, 1.0 / step if step > 0.0 else 0.0, step,
                                  max_code)
        return out
    vals = np.empty((M, NC))
    lows1, highs1 = np.empty(n_chunks), np.empty(n_chunks)
    n_rows = (M + 63) // 64
    for b in range(B):
        for g in range(n_groups):
            for p in range(P):
                for c in prange(n_chunks):
                    wd = min(width, NC - c * width)
                    lut = np.empty((n_lut, 16, wd), dtype=G.dtype)
                    lut2 = np.empty((n_lut2, 16, wd), dtype=G2.dtype)
                    lows1[c], highs1[c] = _stored_pass(digits, G, G2, starts, gmin_int, inv_unit, inv_unit2,
                                                       read_sigma, keys, binary, pats, set_base, b, g, p, c * width,
                                                       wd, True, lut,
                                                       lut2, vals)
                lo, hi = lows1.min(), highs1.max()
                step = (hi - lo) / max_code
                inv_step = 1.0 / step if step > 0.0 else 0.0
                for r in prange(n_rows):
                    _quantize_add(vals, out, b, r * 64, min(M, r * 64 + 64), plane_weights[p], lo, inv_step, step,
                                  max_code)
    return out


LUT_BYTES = 1 << 19   # the partial-sum tables of one column chunk: within a core's L2 cache (1 MB and up)
MIN_SPLIT_WIDTH = 64  # columns: a chunk narrower than this costs more in per-row work than a thread gains


def _chunk_width(starts, NC, itemsize, noisy, binary, split: int = 1) -> int:
    """Columns per work item: as many as keep the chunk's partial-sum tables within LUT_BYTES
    (a multiple of 16, 16 to 1024), or all of them when they fit: the per-row work (patterns,
    values, ADC) is paid once per chunk, so wide chunks are fast. ``split`` > 1 (few products for
    the threads): narrower, so that the columns make ``split`` chunks, down to MIN_SPLIT_WIDTH."""
    if not binary:
        width = 256
    else:
        sets = int(((np.diff(starts) + 3) // 4).max())
        per_col = sets * 16 * itemsize * (2 if noisy else 1)
        width = max(16, min(1024, (LUT_BYTES // per_col) // 16 * 16))
    if split > 1:
        per_chunk = -(-NC // split)                        # ceil, then up to a multiple of 16
        width = min(width, max(MIN_SPLIT_WIDTH, -(-per_chunk // 16) * 16))
    return int(min(NC, width))


def crossbar_mvm_batch(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, keys,
                       adc_mode, adc_bits, full_scale, backend: str = "numba"):
    """A batch of independent crossbar products (one written operand each, as for the per-head
    K^T and V of attention): ``digits`` (B, P, M, K) uint8, ``G`` and ``G2`` (B, K, NC) int32 or
    int64 (one dtype each), ``keys`` (B,) the read-noise key of each product; returns (B, M, NC).
    Product ``b`` equals ``crossbar_mvm(digits[b], G[b], ..., keys[b], ...)`` exactly: the batch
    only spreads the work over threads (products, or column chunks of a product) in one call."""
    check_backend(backend)
    digits = np.ascontiguousarray(digits, dtype=np.uint8)
    G, G2 = np.ascontiguousarray(G), np.ascontiguousarray(G2)
    if G.dtype not in (np.int32, np.int64) or G2.dtype not in (np.int32, np.int64):
        raise ValueError(f"G and G2 must be int32 or int64, got {G.dtype} and {G2.dtype}")
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    plane_weights = np.ascontiguousarray(plane_weights, dtype=np.float64)
    full_scale = np.ascontiguousarray(full_scale, dtype=np.float64)
    keys = np.ascontiguousarray(np.asarray(keys, dtype=np.uint64).reshape(-1))
    if digits.ndim != 4 or G.ndim != 3:
        raise ValueError(f"batched digits must be (B, P, M, K) and G (B, K, NC), got {digits.shape} and {G.shape}")
    B, P, M, K = digits.shape
    if G.shape[:2] != (B, K) or G2.shape != G.shape:
        raise ValueError(f"G {G.shape} / G2 {G2.shape} do not match {B} products of {K} input rows")
    if keys.shape != (B,):
        raise ValueError(f"one noise key per product: {keys.shape[0]} keys for {B} products")
    if starts[0] != 0 or starts[-1] != K or np.any(np.diff(starts) <= 0):
        raise ValueError("row-group starts must rise strictly from 0 to K")
    if len(plane_weights) != P or len(full_scale) != len(starts) - 1:
        raise ValueError("one plane weight per input plane and one full scale per row group")
    if adc_mode not in (ADC_IDEAL, ADC_FIXED, ADC_DYNAMIC):
        raise ValueError(f"unknown ADC mode {adc_mode}")
    args = (digits, G, G2, starts, plane_weights, np.int64(gmin_int), float(inv_unit), float(inv_unit2),
            float(read_sigma), keys, int(adc_mode), int(adc_bits), full_scale)
    if backend == "reference":
        with np.errstate(over="ignore"):
            return crossbar_mvm_batch_reference(*args)
    NC = G.shape[2]
    if B == 0 or M == 0 or NC == 0:
        return np.zeros((B, M, NC))
    binary = bool(digits.max() <= 1)
    import numba
    threads = numba.get_num_threads()
    split = -(-2 * threads // B) if 1 < threads and B < 2 * threads else 1   # two chunks a thread, at least
    width = _chunk_width(starts, NC, G.dtype.itemsize, read_sigma > 0.0, binary, split)
    local = width == NC or B >= 2 * threads
    return _crossbar_mvm(*args, binary, width, local)


def crossbar_mvm(digits, G, G2, starts, plane_weights, gmin_int, inv_unit, inv_unit2, read_sigma, key,
                 adc_mode, adc_bits, full_scale, backend: str = "numba"):
    """Validate and dispatch (see the module docstring). ``G`` and ``G2`` may be int32 or int64
    (the caller picks int32 when every partial sum fits); ``inv_unit2`` converts sqrt of a sum of
    ``G2`` to levels."""
    digits = np.asarray(digits)
    G, G2 = np.asarray(G), np.asarray(G2)
    if digits.ndim != 3 or G.ndim != 2 or G2.ndim != 2:
        raise ValueError(f"digits must be (P, M, K) and G, G2 (K, NC), got {digits.shape}, {G.shape}, {G2.shape}")
    return crossbar_mvm_batch(digits[None], G[None], G2[None], starts, plane_weights, gmin_int, inv_unit, inv_unit2,
                              read_sigma, [key], adc_mode, adc_bits, full_scale, backend=backend)[0]
