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
