"""Conductance drift of programmed cells: a power law in the time since programming.

Every cell ``i`` with programmed conductance ``G[i]`` (uS) and target conductance ``T[i]`` drifts to

    G_t[i] = G[i] * exp(-nu[i] * log_ratio),    log_ratio = ln((t + t0) / t0)

(aihwkit's convention: ``t`` counts from the end of programming, ``t0`` is the first read). The
drift exponent of every device is drawn once (device-to-device variation of nu):

    g   = max(|T[i]| / g_max, 1e-7)
    mu  = clip(mu_coef[0] ln g + mu_coef[1], mu_coef[2], mu_coef[3])
    sig = clip(sig_coef[0] ln g + sig_coef[1], sig_coef[2], sig_coef[3])
    nu  = |mu + sig z[i]|

with ``z[i]`` the counter-based N(0, 1) draw of :func:`archsim.kernels.crossbar.normal` for
(``key``, ``i``), so a cell's nu does not depend on evaluation order, backend or thread count.
The conductance dependence is aihwkit's PCM fit (``PCMLikeNoiseModel.generate_drift_coefficients``);
a constant nu has zero slopes and infinite clip bounds (``archsim/noise/drift.py`` holds the presets).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from archsim.kernels._jit import check_backend, kernel
from archsim.kernels.crossbar import (_GOLDEN, _INV_2_53, _L1, _L255, _S8, _S11, ZIG_X, _mix, _normal,
                                      normal_reference)

G_REL_FLOOR = 1e-7   # aihwkit's _ZERO_CLIP: log of a zero conductance


def drift_reference(G, target, g_max, mu_coef, sig_coef, log_ratio, key):
    """The specification (module docstring): ``G``, ``target`` float64 arrays of one shape."""
    G = np.asarray(G, dtype=np.float64)
    if log_ratio == 0.0:
        return G.copy()
    lg = np.log(np.maximum(np.abs(np.asarray(target, dtype=np.float64)) / g_max, G_REL_FLOOR))
    mu = np.clip(mu_coef[0] * lg + mu_coef[1], mu_coef[2], mu_coef[3])
    sig = np.clip(sig_coef[0] * lg + sig_coef[1], sig_coef[2], sig_coef[3])
    z = normal_reference(key, np.arange(G.size, dtype=np.uint64)).reshape(G.shape)
    nu = np.abs(mu + sig * z)
    return G * np.exp(-nu * log_ratio)


@kernel(reference=drift_reference, parallel=True)
def _drift(G, target, g_max, mu_coef, sig_coef, log_ratio, key):
    n = G.shape[0]
    out = np.empty(n)
    key0 = _mix(key)
    inv_g = 1.0 / g_max
    chunks = (n + 1023) // 1024
    for c in prange(chunks):
        for i in range(c * 1024, min(n, c * 1024 + 1024)):
            counter = np.uint64(i)
            h = _mix(key0 + counter * _GOLDEN)          # ziggurat fast path inline (see _normal)
            li = np.int64(h & _L255)
            x = np.float64(h >> _S11) * _INV_2_53 * ZIG_X[li]
            if x < ZIG_X[li + 1]:
                z = -x if (h >> _S8) & _L1 else x
            else:
                z = _normal(key, counter)
            lg = math.log(max(abs(target[i]) * inv_g, 1e-7))
            mu = min(max(mu_coef[0] * lg + mu_coef[1], mu_coef[2]), mu_coef[3])
            sig = min(max(sig_coef[0] * lg + sig_coef[1], sig_coef[2]), sig_coef[3])
            out[i] = G[i] * math.exp(-abs(mu + sig * z) * log_ratio)
    return out


def drift(G, target, g_max: float, mu_coef, sig_coef, log_ratio: float, key, backend: str = "numba"):
    """Public entry: the drifted conductances (same shape as ``G``)."""
    check_backend(backend)
    G = np.asarray(G, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if target.shape != G.shape:
        raise ValueError(f"target {target.shape} and G {G.shape} differ in shape")
    if not g_max > 0:
        raise ValueError(f"g_max must be > 0, got {g_max}")
    if log_ratio < 0:
        raise ValueError(f"log_ratio must be >= 0 (time after programming), got {log_ratio}")
    mu = np.ascontiguousarray(mu_coef, dtype=np.float64)
    sig = np.ascontiguousarray(sig_coef, dtype=np.float64)
    if mu.shape != (4,) or sig.shape != (4,):
        raise ValueError("mu_coef and sig_coef are (slope, intercept, low, high)")
    key = np.uint64(key)
    if backend == "reference":
        with np.errstate(over="ignore"):
            return drift_reference(G, target, float(g_max), mu, sig, float(log_ratio), key)
    if log_ratio == 0.0:
        return G.copy()
    out = _drift(np.ascontiguousarray(G.reshape(-1)), np.ascontiguousarray(target.reshape(-1)), float(g_max),
                 mu, sig, float(log_ratio), key)
    return out.reshape(G.shape)
