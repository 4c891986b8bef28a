"""Run a matrix product through a noisy crossbar: ``y ~ x @ W`` as the hardware computes it.

    spec = CrossbarSpec.from_hardware("hw_configs/clipformer_rram_32nm.yaml")
    arr = program(W, spec, seed=1)                    # static weights, (K, N): quantise, slice, map, noise
    y = matmul(x, arr, seed=2)                        # (M, K) inputs: bit-serial, read noise, ADC, shift-add
    y = dynamic_matmul(q, k.T, spec, seed=3, transform=ClipFormerTransform(2, 0.25))   # K^T written per call

Steps (docs/models/imc.md, "Non-ideality engine", has the equations):

1. weights: symmetric ``weight_bits`` quantisation (per tensor or per output channel), signed
   scheme (offset or differential pairs), ``bits_per_cell`` slices, digit -> conductance level;
   an optional transform of the target conductances (ClipFormer's K/V clipping); device-to-device
   variation (one draw per physical array: ``d2d_seed``); programming noise (static operands,
   one draw per ``program``) or write noise (dynamic operands, one draw per write); clip to
   ``[0, 2 G_max]``.
2. inputs: ``input_bits`` quantisation (unsigned when non-negative), digits of ``dac_bits``
   (two's complement: magnitude digits plus a sign plane of weight ``-2^(b-1)``).
3. per row group (the rows one conversion sums: a crossbar's rows, or a PE's kernel positions),
   per plane, per column: the column current minus the G_min reference, in levels, plus
   proportional read noise of every cell drawn per read; or, with IR drop on, the currents of the
   relaxation solve; the ADC (ideal, fixed range, or per-tensor dynamic range); shift-and-add.
4. columns combine by significance, the offset of offset-encoded weights is removed with the
   exact input sum, and the integer result is scaled back.

Every draw is seeded: conductance noise from ``numpy.random.Generator``\\s seeded by ``seed``
and ``d2d_seed``, read noise from counter-based draws keyed by the ``seed`` of ``matmul``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from archsim.kernels import crossbar as xk
from archsim.kernels import digits as xd
from archsim.kernels import programming
from archsim.noise.conductance import (G_CEILING, device_variation, noise_draws, quantize, transform_values,
                                       weight_columns)
from archsim.noise.drift import compensation_scale, drift_conductances
from archsim.noise.ir_drop import ir_drop_currents
from archsim.noise.spec import CrossbarSpec

Transform = Callable[[np.ndarray, float, float], np.ndarray]
FIXED_POINT_BITS = 16         # conductances in units of 1/2^16 of a level
INT32_LIMIT = 2 ** 31 - 1
EXACT_LIMIT = 2 ** 53


@dataclass
class ProgrammedArray:
    """A stationary operand (K x N) as programmed into crossbars."""

    spec: CrossbarSpec
    k: int
    n: int
    c: int                        # columns per output (slices, x 2 for differential pairs)
    col_weights: np.ndarray       # (c,) significance of each column of an output
    w_scale: np.ndarray           # scalar or (n,): integer weight -> value
    offset: int                   # added to every weight (offset encoding), removed digitally
    perm: np.ndarray              # (k,) operand row held by each crossbar row, in group order
    starts: np.ndarray            # (groups + 1,) row-group boundaries in ``perm`` order
    crossbar_rows: list           # per group: boundaries of its physical crossbars (IR drop)
    G_us: np.ndarray              # (k, n c) programmed conductances, uS, rows in ``perm`` order
    G: np.ndarray                 # fixed point, units of level / 2^F
    G2: np.ndarray                # squares on a coarser grid, units of (level / 2^F2)^2
    inv_unit: float
    inv_unit2: float
    gmin_int: int
    dynamic: bool
    drift_scale: float = 1.0      # global drift compensation of the outputs (1: none)

    @property
    def groups(self) -> int:
        return len(self.starts) - 1

    def stored_weights(self) -> np.ndarray:
        """(K, N) integer-unit weights the conductances represent (noise included), in the
        operand's row order: what an ideal read-out of this array would multiply by."""
        s = self.spec
        digits = (self.G_us - s.g_min_us) / s.level_us
        w = digits.reshape(self.k, self.n, self.c) @ self.col_weights - self.offset
        out = np.empty_like(w)
        out[self.perm] = w
        return out


def _default_groups(k: int, rows: int) -> list[list[np.ndarray]]:
    return [[np.arange(s, min(s + rows, k))] for s in range(0, k, rows)]


def conv_row_groups(channels: int, positions: int, spec: CrossbarSpec) -> list[list[np.ndarray]]:
    """Row groups of a convolution's im2col operand (PyTorch order: row = c * positions + kernel
    position). ``kernel_positions`` mapping: each crossbar holds up to ``rows`` channels of one
    position; with ``adc_sharing: pe`` the positions of a PE (``pe_crossbars`` of them) are summed
    on shared bit lines, so one conversion covers them all. ``unrolled``: consecutive blocks."""
    k = channels * positions
    if spec.conv_mapping == "unrolled" or positions == 1:
        return _default_groups(k, spec.rows)
    per_group = spec.pe_crossbars if spec.adc_sharing == "pe" else 1
    groups = []
    for c0 in range(0, channels, spec.rows):
        chans = np.arange(c0, min(c0 + spec.rows, channels))
        for p0 in range(0, positions, per_group):
            groups.append([chans * positions + pos for pos in range(p0, min(p0 + per_group, positions))])
    return groups


def _normalise_groups(row_groups, k: int, rows: int) -> list[list[np.ndarray]]:
    """Each group is a list of physical crossbars (index arrays); a bare array is one crossbar."""
    if row_groups is None:
        return _default_groups(k, rows)
    groups = [[np.asarray(x, dtype=np.int64) for x in (g if isinstance(g, (list, tuple)) else [g])]
              for g in row_groups]
    flat = np.concatenate([x for g in groups for x in g]) if groups else np.empty(0, np.int64)
    if flat.size != k or not np.array_equal(np.sort(flat), np.arange(k)):
        raise ValueError(f"row groups must cover each of the {k} rows exactly once")
    if any(x.size > rows for g in groups for x in g):
        raise ValueError(f"a crossbar of a row group holds more than {rows} rows")
    return groups


def _fixed_point(G_us: np.ndarray, spec: CrossbarSpec, max_rows: int, backend: str = "numba"):
    """Integer conductances for exact sums: (G, inv_unit, G2, inv_unit2, gmin_int)."""
    dmax = 2 ** spec.dac_bits - 1
    top = G_CEILING * spec.g_max_us / spec.level_us          # largest conductance, in levels
    F = FIXED_POINT_BITS
    while top * 2 ** F * max_rows * dmax >= EXACT_LIMIT and F > 4:
        F -= 1
    dtype = np.int32 if top * 2 ** F * max_rows * dmax < INT32_LIMIT else np.int64
    # the read-noise variance needs far less precision: the finest grid whose sums fit int32
    F2 = int(math.floor(math.log2(math.sqrt(INT32_LIMIT / (max_rows * dmax * dmax)) / top)))
    dtype2 = np.int32
    if F2 < 6:
        F2 = int(math.floor(math.log2(math.sqrt(EXACT_LIMIT / (max_rows * dmax * dmax)) / top)))
        dtype2 = np.int64
    F2 = min(F2, F)
    G, G2 = programming.grids(G_us, spec.level_us, 2.0 ** F, 2.0 ** F2, dtype, dtype2, backend=backend)
    gmin_int = int(np.rint(spec.g_min_us / spec.level_us * 2 ** F))
    return G, 2.0 ** -F, G2, 2.0 ** -F2, gmin_int


def program(W: np.ndarray, spec: CrossbarSpec, *, seed: int = 0, dynamic: bool = False,
            transform: Transform | None = None, row_groups: Sequence | None = None,
            d2d_seed: int | None = None, weight_scale: float | np.ndarray | None = None,
            backend: str = "numba") -> ProgrammedArray:
    """Program the stationary operand ``W`` (K x N). ``dynamic``: written at run time (write
    noise model) instead of programmed once (programming model). ``transform(G, g_min, g_max)``
    changes the target conductances before the write: of every cell, or of every whole value
    when the transform has ``granularity == "value"`` (:class:`ClipFormerTransform`'s default).
    ``row_groups``: rows summed by one conversion (default: consecutive blocks of ``rows``).
    Static operands drift to ``spec.drift.time_s`` after programming (:mod:`archsim.noise.drift`);
    written (dynamic) operands are read right after their write and do not. A dynamic operand
    without a ``transform`` gets the spec's ``write_transform`` (ClipFormer from the hardware file)."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (K x N), got shape {W.shape}")
    if weight_scale is not None and spec.weight_scale == "channel":
        weight_scale = np.asarray(weight_scale, dtype=np.float64).reshape(1, -1)
    cells = _program_cells(W[None], spec, seed=seed, dynamic=dynamic, transform=transform, row_groups=row_groups,
                           d2d_seed=d2d_seed, weight_scale=weight_scale, backend=backend)
    G_us, target = cells.G_us[0], cells.target[0]
    drift_scale = 1.0
    if not dynamic and spec.drift.model != "none" and spec.drift.time_s > 0:
        G_t = drift_conductances(G_us, target, spec.drift, spec.g_max_us, seed, backend=backend)
        if spec.drift.compensation == "global":
            drift_scale = compensation_scale(G_us, G_t, spec.g_min_us)
        G_us = G_t
    G, inv_unit, G2, inv_unit2, gmin_int = _fixed_point(G_us, spec, cells.max_rows, backend)
    w_scale = cells.w_scale[0]
    return ProgrammedArray(spec=spec, k=cells.k, n=cells.n, c=cells.c, col_weights=cells.col_weights,
                           w_scale=w_scale.reshape(-1) if spec.weight_scale == "channel" else w_scale.reshape(()),
                           offset=cells.offset, perm=cells.perm, starts=cells.starts, crossbar_rows=cells.crossbar_rows,
                           G_us=G_us, G=G, G2=G2, inv_unit=inv_unit, inv_unit2=inv_unit2, gmin_int=gmin_int,
                           dynamic=dynamic, drift_scale=drift_scale)


@dataclass
class _Cells:
    """Programmed conductances of a batch of operands (B, K, N c), before the fixed-point step."""

    k: int
    n: int
    c: int
    col_weights: np.ndarray
    w_scale: np.ndarray           # (B, 1, 1) per tensor or (B, 1, N) per channel
    offset: int
    perm: np.ndarray
    starts: np.ndarray
    crossbar_rows: list
    max_rows: int
    target: np.ndarray            # (B, K, N c) uS
    G_us: np.ndarray              # (B, K, N c) uS


def _program_cells(W: np.ndarray, spec: CrossbarSpec, *, seed: int, dynamic: bool, transform, row_groups,
                   d2d_seed: int | None, weight_scale, backend: str = "numba") -> _Cells:
    """Steps 1 of the module docstring for a batch ``W`` (B, K, N): each operand quantised on its
    own scale; the noise of the whole batch drawn from one generator (``seed``), the device
    variation from another (``d2d_seed``), so operand ``b`` of two calls with the same seeds and
    shapes gets the same draws."""
    if dynamic and transform is None and spec.write_transform.kind == "clipformer":
        from archsim.noise.conductance import ClipFormerTransform
        transform = ClipFormerTransform(spec.write_transform.alpha, spec.write_transform.beta)
    B, k, n = W.shape
    if weight_scale is None:
        top = 2 ** (spec.weight_bits - 1) - 1
        peak = np.abs(W).max(axis=1 if spec.weight_scale == "channel" else (1, 2), keepdims=True) if W.size \
            else np.zeros((B, 1, 1))
        weight_scale = np.where(peak > 0, peak / top, 1.0)
    wq, w_scale, _ = quantize(W, spec.weight_bits, signed=True, scale=weight_scale)
    w_scale = np.broadcast_to(w_scale, (B, 1, n if spec.weight_scale == "channel" else 1))
    if transform is not None and getattr(transform, "granularity", "cell") == "value":
        # a transform of whole values (ClipFormer): on each value's conductance, before slicing
        wq = transform_values(wq, spec.weight_bits, spec.signed_weights, transform, spec.g_min_us, spec.g_max_us)
        transform = None
    _, col_weights, offset = weight_columns(spec.weight_bits, spec.bits_per_cell, spec.signed_weights)
    c = len(col_weights)
    groups = _normalise_groups(row_groups, k, spec.rows)
    perm = np.concatenate([x for g in groups for x in g])
    sizes = [sum(x.size for x in g) for g in groups]
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    crossbar_rows = [np.concatenate([[0], np.cumsum([x.size for x in g])]) for g in groups]

    target = programming.weight_levels(wq, perm, spec.weight_bits, spec.bits_per_cell, spec.signed_weights,
                                       spec.g_min_us, spec.g_max_us, backend=backend)
    if transform is not None:
        target = np.asarray(transform(target, spec.g_min_us, spec.g_max_us), dtype=np.float64)
    d2d_rng = np.random.default_rng(np.random.SeedSequence([seed if d2d_seed is None else d2d_seed, 2]))
    G_us = target * device_variation(target.shape, spec.d2d_sigma, d2d_rng) if spec.d2d_sigma else target
    model = spec.write if dynamic else spec.programming
    eps = noise_draws(target.shape, model, np.random.default_rng(np.random.SeedSequence([seed, 1])))
    G_us = programming.write_noise(G_us, eps, "none" if eps is None else model.kind, model.gamma, spec.g_min_us,
                                   spec.g_max_us, G_CEILING * spec.g_max_us, backend=backend)
    return _Cells(k=k, n=n, c=c, col_weights=col_weights, w_scale=w_scale, offset=offset, perm=perm, starts=starts,
                  crossbar_rows=crossbar_rows, max_rows=max(sizes), target=target, G_us=G_us)


def input_digits(xq: np.ndarray, bits: int, signed: bool, dac_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits (P, *xq.shape) uint8 of integer inputs and the weight of each plane. Unsigned values:
    ``ceil(b / dac)`` digits of ``dac_bits``; signed (two's complement): the ``b - 1`` magnitude
    bits in digits plus a sign plane weighing ``-2^(b-1)`` (:mod:`archsim.kernels.digits`)."""
    return xd.input_digits_reference(xq, bits, signed, dac_bits), xd.plane_weights(bits, signed, dac_bits)


def _full_scale(arr: ProgrammedArray, digit_max: int) -> np.ndarray:
    """Fixed ADC range of each row group, in levels, unless the spec sets one: the largest
    possible column sum rounded up to ``2^B - 1``; an ADC of ``b >= B`` bits spans ``2^b - 1``
    levels instead, so its step is one level (it resolves every level sum exactly)."""
    return _group_full_scale(arr.spec, arr.starts, digit_max)


def _group_full_scale(s: CrossbarSpec, starts: np.ndarray, digit_max: int) -> np.ndarray:
    if s.adc_full_scale_levels is not None:
        return np.full(len(starts) - 1, float(s.adc_full_scale_levels))
    top = np.diff(starts) * s.levels * digit_max
    return np.maximum(2.0 ** np.ceil(np.log2(top + 1.0)), 2.0 ** s.adc_bits) - 1.0


def _adc_mode(s: CrossbarSpec) -> int:
    return xk.ADC_IDEAL if s.ideal_adc else (xk.ADC_FIXED if s.adc_range == "fixed" else xk.ADC_DYNAMIC)


def matmul(x: np.ndarray, arr: ProgrammedArray, *, seed: int = 0, input_bits: int | None = None,
           input_signed: bool | None = None, input_scale: float | None = None,
           backend: str = "numba") -> np.ndarray:
    """``x`` (..., K) times the programmed operand, as the crossbars compute it: (..., N)."""
    s = arr.spec
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1] != arr.k:
        raise ValueError(f"x has {x.shape[-1]} features, the array has {arr.k} rows")
    lead = x.shape[:-1]
    x2 = x.reshape(-1, arr.k)
    bits = input_bits or s.input_bits
    xq, x_scale, signed = quantize(x2, bits, signed=input_signed, scale=input_scale)
    planes = xd.input_planes(xq[None], arr.perm, bits, signed, s.dac_bits, backend=backend)[0]
    plane_w = xd.plane_weights(bits, signed, s.dac_bits)
    digit_max = 2 ** s.dac_bits - 1 if (bits > 1 or not signed) else 1
    mode = _adc_mode(s)
    full_scale = _full_scale(arr, digit_max)
    key = np.uint64(seed % 2 ** 64)
    if s.ir_drop.enabled:
        levels = _ir_drop_levels(planes, plane_w, arr, key, mode, full_scale, backend)
    else:
        levels = xk.crossbar_mvm(planes, arr.G, arr.G2, arr.starts, plane_w, arr.gmin_int, arr.inv_unit,
                                 arr.inv_unit2, s.read_sigma, key, mode, s.adc_bits, full_scale, backend=backend)
    if arr.drift_scale != 1.0:
        levels = levels * arr.drift_scale
    y = levels.reshape(-1, arr.n, arr.c) @ arr.col_weights
    if arr.offset:
        y -= arr.offset * xq.sum(axis=1)[:, None]
    y = y * x_scale * arr.w_scale
    return y.reshape(*lead, arr.n)


def crossbar_matmul(x: np.ndarray, W: np.ndarray, spec: CrossbarSpec, *, seed: int = 0, dynamic: bool = False,
                    transform: Transform | None = None, row_groups=None, backend: str = "numba") -> np.ndarray:
    """Program ``W`` and multiply once (``seed`` seeds the programming and, shifted, the reads)."""
    arr = program(W, spec, seed=seed, dynamic=dynamic, transform=transform, row_groups=row_groups, backend=backend)
    return matmul(x, arr, seed=seed + 1, backend=backend)


def dynamic_matmul(a: np.ndarray, b: np.ndarray, spec: CrossbarSpec, *, seed: int = 0,
                   transform: Transform | None = None, d2d_seed: int | None = None,
                   backend: str = "numba") -> np.ndarray:
    """``a @ b`` with ``b`` written into crossbars at run time (K^T of Q.K^T, V of A.V): the write
    noise model and the optional K/V ``transform`` apply. Leading dimensions are batched (one
    written array per product, each operand and input on its own quantisation scale), and the
    batch runs as one: the write noise of all its arrays from one generator seeded by ``seed``,
    the device variation from ``d2d_seed`` (which fixes the physical arrays across calls of the
    same shape), one read-noise key per product, one kernel call for every product."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"cannot multiply {a.shape} by {b.shape}")
    lead = a.shape[:-2]
    a3 = a.reshape(-1, *a.shape[-2:])
    b3 = b.reshape(-1, *b.shape[-2:])
    B, M, n = a3.shape[0], a3.shape[1], b3.shape[2]
    out = np.zeros((B, M, n))
    if B == 0 or M == 0 or n == 0:
        return out.reshape(*lead, M, n)
    cells = _program_cells(b3, spec, seed=seed, dynamic=True, transform=transform, row_groups=None,
                           d2d_seed=d2d_seed, weight_scale=None, backend=backend)
    G, inv_unit, G2, inv_unit2, gmin_int = _fixed_point(cells.G_us, spec, cells.max_rows, backend)
    keys = np.random.SeedSequence([seed, 4]).generate_state(B, np.uint64)
    bits = spec.input_bits
    negative = (a3 < 0).any(axis=(1, 2))
    peak = np.abs(a3).max(axis=(1, 2))
    for signed in (False, True):          # signed inputs carry a sign plane: one kernel call per kind
        idx = np.flatnonzero(negative == signed)
        if not idx.size:
            continue
        top = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
        x_scale = np.where(peak[idx] > 0, peak[idx] / top, 1.0)[:, None, None]
        xq, _, _ = quantize(a3[idx], bits, signed=signed, scale=x_scale)
        planes = xd.input_planes(xq, cells.perm, bits, signed, spec.dac_bits, backend=backend)  # (b, P, M, K)
        plane_w = xd.plane_weights(bits, signed, spec.dac_bits)
        digit_max = 2 ** spec.dac_bits - 1 if (bits > 1 or not signed) else 1
        if spec.ir_drop.enabled:          # one relaxation solve per product: the slow path
            levels = np.stack([_ir_drop_levels(planes[i], plane_w, _batch_member(cells, idx[i], G, G2, inv_unit,
                                                                                     inv_unit2, gmin_int, spec),
                                               keys[idx[i]], _adc_mode(spec),
                                               _group_full_scale(spec, cells.starts, digit_max), backend)
                               for i in range(idx.size)])
        else:
            levels = xk.crossbar_mvm_batch(planes, G[idx], G2[idx], cells.starts, plane_w,
                                           gmin_int, inv_unit, inv_unit2, spec.read_sigma, keys[idx],
                                           _adc_mode(spec), spec.adc_bits,
                                           _group_full_scale(spec, cells.starts, digit_max), backend=backend)
        y = levels.reshape(idx.size, M, n, cells.c) @ cells.col_weights
        if cells.offset:
            y -= cells.offset * xq.sum(axis=2)[..., None]
        out[idx] = y * x_scale * cells.w_scale[idx]
    return out.reshape(*lead, M, n)


def _batch_member(cells: _Cells, i: int, G, G2, inv_unit, inv_unit2, gmin_int, spec) -> ProgrammedArray:
    return ProgrammedArray(spec=spec, k=cells.k, n=cells.n, c=cells.c, col_weights=cells.col_weights,
                           w_scale=cells.w_scale[i].reshape(-1), offset=cells.offset, perm=cells.perm,
                           starts=cells.starts, crossbar_rows=cells.crossbar_rows, G_us=cells.G_us[i], G=G[i],
                           G2=G2[i], inv_unit=inv_unit, inv_unit2=inv_unit2, gmin_int=gmin_int, dynamic=True)


def _ir_drop_levels(digits, plane_w, arr: ProgrammedArray, key, mode, full_scale, backend) -> np.ndarray:
    """The crossbar product with wire resistance: each physical crossbar and column block is
    solved for its column currents (relaxation, :mod:`archsim.kernels.ir_drop`), the currents of
    a row group are summed, then read noise, ADC and shift-and-add as in the ideal path."""
    s, ir = arr.spec, arr.spec.ir_drop
    P, M, _ = digits.shape
    NC = arr.G_us.shape[1]
    G_s = arr.G_us * 1e-6
    G2f = arr.G2.astype(np.float64)
    out = np.zeros((M, NC))
    for g in range(arr.groups):
        r0, bounds = arr.starts[g], arr.crossbar_rows[g]
        for p in range(P):
            D = digits[p][:, r0:arr.starts[g + 1]].astype(np.float64)
            current = np.zeros((M, NC))
            for x0, x1 in zip(bounds[:-1], bounds[1:]):
                V = D[:, x0:x1] * ir.v_read
                for c0 in range(0, NC, s.cols):
                    c1 = min(c0 + s.cols, NC)
                    cur, _ = ir_drop_currents(G_s[r0 + x0:r0 + x1, c0:c1], V, ir.r_wire_row_ohm, ir.r_wire_col_ohm,
                                              gamma=ir.relaxation, tol=ir.tolerance, max_iter=ir.max_iterations,
                                              backend=backend)
                    current[:, c0:c1] += cur
            v = current / (ir.v_read * s.level_us * 1e-6) - (s.g_min_us / s.level_us) * D.sum(axis=1)[:, None]
            if s.read_sigma > 0.0:
                s2 = (D * D) @ G2f[r0:arr.starts[g + 1]]
                counters = np.uint64((g * P + p) * M * NC) + np.arange(M * NC, dtype=np.uint64).reshape(M, NC)
                v = v + s.read_sigma * np.sqrt(s2) * arr.inv_unit2 * xk.normal(key, counters, backend=backend)
            lo, inv_step, step, max_code = xk.adc_range(v.min(), v.max(), mode, s.adc_bits, full_scale[g])
            out += plane_w[p] * xk.adc_quantize_reference(v, lo, inv_step, step, max_code)
    return out
