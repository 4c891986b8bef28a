"""Programming a crossbar's cells: write noise on the target conductances, the clip to the
device's range, and the integer grids the crossbar product sums on.

Every cell ``i`` of target conductance ``G[i]`` (uS) and normal draw ``e[i]`` (``N(0, sigma^2)``,
drawn by numpy's generator so that the stream is numpy's) is written as

    proportional:  G (1 + e)
    additive:      G + (g_max - g_min) e
    txsim:         G + gamma sqrt(max(G - g_min, 0) (g_max - g_min)) e

then clipped to ``[0, ceiling]``; the crossbar product's grids are ``rint(G_us / level * 2^F)``
and the square of ``rint(G_us / level * 2^F2)`` (``archsim/noise/engine.py`` picks F, F2 and the
integer widths). The kernels compute each cell with the same operations in the same order as the
numpy references (no reassociation, no fused multiply-add), so both give the same numbers.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from archsim.arch.imc.mapping import weight_slices
from archsim.kernels._jit import check_backend, kernel

NOISE_KINDS = {"none": 0, "proportional": 1, "additive": 2, "txsim": 3}


def noisy_reference(G, eps, kind: int, gamma: float, g_min: float, g_max: float):
    """The written conductances before the clip (module docstring), float64 arrays of one shape."""
    if kind == 1:
        return (1.0 + eps) * G
    if kind == 2:
        return (g_max - g_min) * eps + G
    if kind == 3:
        return gamma * np.sqrt(np.maximum(G - g_min, 0.0) * (g_max - g_min)) * eps + G
    return np.array(G, dtype=np.float64, copy=True)


def write_noise_reference(G, eps, kind: int, gamma: float, g_min: float, g_max: float, ceiling: float):
    """The specification: :func:`noisy_reference`, clipped to ``[0, ceiling]``."""
    return np.clip(noisy_reference(G, eps, kind, gamma, g_min, g_max), 0.0, ceiling)


@kernel(reference=write_noise_reference, parallel=True)
def _write_noise(G, eps, kind, gamma, g_min, g_max, ceiling):
    n = G.shape[0]
    out = np.empty(n)
    span = g_max - g_min
    for i in prange(n):
        g = G[i]
        if kind == 1:
            v = (1.0 + eps[i]) * g
        elif kind == 2:
            v = span * eps[i] + g
        elif kind == 3:
            v = gamma * math.sqrt(max(g - g_min, 0.0) * span) * eps[i] + g
        else:
            v = g
        out[i] = min(max(v, 0.0), ceiling)
    return out


def write_noise(G, eps, kind: str, gamma: float, g_min: float, g_max: float, ceiling: float,
                backend: str = "numba") -> np.ndarray:
    """Written and clipped conductances (same shape as ``G``); ``eps`` the draws (same shape; any
    values for ``kind == "none"``)."""
    check_backend(backend)
    G = np.asarray(G, dtype=np.float64)
    code = NOISE_KINDS[kind]
    eps = np.zeros(1) if code == 0 else np.asarray(eps, dtype=np.float64)
    if code and eps.shape != G.shape:
        raise ValueError(f"eps {eps.shape} and G {G.shape} differ in shape")
    args = (code, float(gamma), float(g_min), float(g_max), float(ceiling))
    if backend == "reference":
        return write_noise_reference(G, eps, *args)
    flat_eps = np.ascontiguousarray(eps.reshape(-1)) if code else np.zeros(G.size)
    return _write_noise(np.ascontiguousarray(G.reshape(-1)), flat_eps, *args).reshape(G.shape)


def grids_reference(G_us, level: float, scale: float, scale2: float, dtype, dtype2):
    """``rint(G_us / level * scale)`` as ``dtype`` and the square of ``rint(G_us / level * scale2)``
    as ``dtype2`` (scales are powers of two)."""
    G = np.rint(G_us / level * scale).astype(np.int64).astype(dtype)
    g2 = np.rint(G_us / level * scale2).astype(np.int64)
    return G, (g2 * g2).astype(dtype2)


@kernel(reference=grids_reference, parallel=True)
def _grids(G_us, level, scale, scale2, G, G2):
    for i in prange(G_us.shape[0]):
        x = G_us[i] / level
        G[i] = np.int64(np.rint(x * scale))
        g2 = np.int64(np.rint(x * scale2))
        G2[i] = g2 * g2


def grids(G_us, level: float, scale: float, scale2: float, dtype, dtype2, backend: str = "numba"):
    """Public entry of :func:`grids_reference` (the caller guarantees the values fit ``dtype``)."""
    check_backend(backend)
    G_us = np.asarray(G_us, dtype=np.float64)
    if backend == "reference":
        return grids_reference(G_us, level, scale, scale2, dtype, dtype2)
    G = np.empty(G_us.size, dtype=dtype)
    G2 = np.empty(G_us.size, dtype=dtype2)
    _grids(np.ascontiguousarray(G_us.reshape(-1)), float(level), float(scale), float(scale2), G, G2)
    return G.reshape(G_us.shape), G2.reshape(G_us.shape)


def weight_columns(bits: int, bits_per_cell: int, signed_weights: str) -> tuple[int, np.ndarray, int]:
    """(slices per sign, col_weights (C,) float64, offset) of ``bits``-bit signed weights on
    ``bits_per_cell``-bit cells (see :func:`weight_digits`)."""
    shifts = bits_per_cell * np.arange(weight_slices(bits, bits_per_cell, signed_weights), dtype=np.int32)
    if signed_weights == "offset":
        return len(shifts), 2.0 ** shifts, 2 ** (bits - 1)
    return len(shifts), np.concatenate([2.0 ** shifts, -(2.0 ** shifts)]), 0


def weight_digits(wq: np.ndarray, bits: int, bits_per_cell: int, signed_weights: str):
    """(digits (K, N, C) int64, col_weights (C,) float64, offset) for integer weights ``wq``
    (K, N) in ``+-(2^(b-1) - 1)``. ``offset`` is what was added to every weight (0 for
    differential pairs)."""
    mask = 2 ** bits_per_cell - 1
    S, col_weights, offset = weight_columns(bits, bits_per_cell, signed_weights)
    shifts = bits_per_cell * np.arange(S, dtype=np.int32)
    if bits <= 30:                              # narrower than int64, the same digits
        wq = np.asarray(wq).astype(np.int32)
    if signed_weights == "offset":
        return ((wq + offset)[..., None] >> shifts) & mask, col_weights, offset
    pos, neg = np.maximum(wq, 0), np.maximum(-wq, 0)
    return np.concatenate([(pos[..., None] >> shifts) & mask, (neg[..., None] >> shifts) & mask], axis=-1), \
        col_weights, 0


def level_conductance(digits: np.ndarray, g_min: float, g_max: float, bits_per_cell: int) -> np.ndarray:
    return g_min + digits * ((g_max - g_min) / (2 ** bits_per_cell - 1))


def weight_levels_reference(wq, perm, bits: int, bits_per_cell: int, signed_weights: str, g_min: float,
                            g_max: float):
    """Target conductances (B, len(perm), N C) of integer weights ``wq`` (B, K, N): their cell
    digits (:func:`archsim.noise.conductance.weight_digits`) on the level map, rows in the order
    ``perm``."""
    d, _, _ = weight_digits(wq, bits, bits_per_cell, signed_weights)
    B, _, N, C = d.shape
    return level_conductance(d[:, perm].reshape(B, len(perm), N * C), g_min, g_max, bits_per_cell)


@kernel(reference=weight_levels_reference, parallel=True)
def _weight_levels(wq, perm, bits_per_cell, slices, differential, offset, g_min, step, out):
    B, N = wq.shape[0], wq.shape[2]
    K = perm.shape[0]
    C = out.shape[2] // N
    mask = (np.int64(1) << bits_per_cell) - 1
    for bi in prange(B * K):
        b, i = bi // K, bi % K
        for n in range(N):
            w = np.int64(wq[b, perm[i], n])
            base = n * C
            if differential:
                pos, neg = max(w, 0), max(-w, 0)
                for s in range(slices):
                    out[b, i, base + s] = g_min + ((pos >> (bits_per_cell * s)) & mask) * step
                    out[b, i, base + slices + s] = g_min + ((neg >> (bits_per_cell * s)) & mask) * step
            else:
                u = w + offset
                for s in range(slices):
                    out[b, i, base + s] = g_min + ((u >> (bits_per_cell * s)) & mask) * step


def weight_levels(wq, perm, bits: int, bits_per_cell: int, signed_weights: str, g_min: float, g_max: float,
                  backend: str = "numba") -> np.ndarray:
    """Public entry (see :func:`weight_levels_reference`)."""
    check_backend(backend)
    wq = np.asarray(wq)
    perm = np.ascontiguousarray(perm, dtype=np.int64)
    if wq.ndim != 3:
        raise ValueError(f"wq must be (operands, rows, outputs), got shape {wq.shape}")
    if backend == "reference":
        return weight_levels_reference(wq, perm, bits, bits_per_cell, signed_weights, g_min, g_max)
    slices, col_weights, offset = weight_columns(bits, bits_per_cell, signed_weights)
    out = np.empty((wq.shape[0], perm.shape[0], wq.shape[2] * len(col_weights)))
    _weight_levels(np.ascontiguousarray(wq, dtype=np.int64), perm, np.int64(bits_per_cell), np.int64(slices),
                   signed_weights != "offset", np.int64(offset), float(g_min),
                   (g_max - g_min) / (2 ** bits_per_cell - 1), out)
    return out
