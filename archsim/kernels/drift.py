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
from archsim.kernels.vexp import exp_array

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


CHUNK = 1024          # cells per work item
LEVEL_SLOTS = 64      # direct-mapped cache of (target -> mu, sig): programmed targets sit on a few levels


@kernel(reference=drift_reference, parallel=True)
def _drift(G, target, target_bits, g_max, mu_coef, sig_coef, log_ratio, key, out):
    """Per chunk: the ziggurat's fast path for every cell in one branch-free loop (vectorised), the
    rare slow draws redone by ``_normal``, each cell's exponent ``-nu log_ratio``, then the
    vectorised exp (:mod:`archsim.kernels.vexp`). A cell's ``mu`` and ``sig`` depend only on its
    target conductance, which takes a few programmed levels: they are computed once per level (a
    small cache keyed by the target's bits) instead of a log per cell, and once for all cells when
    nu does not depend on the conductance. Same numbers as computing them per cell. ``out`` is
    allocated by the caller: numpy's large allocations get transparent huge pages, Numba's do not
    (its page faults cost more than the drift)."""
    n = G.shape[0]
    key0 = _mix(key)
    inv_g = 1.0 / g_max
    chunks = (n + CHUNK - 1) // CHUNK
    constant = mu_coef[0] == 0.0 and sig_coef[0] == 0.0
    mu_c = min(max(mu_coef[1], mu_coef[2]), mu_coef[3])
    sig_c = min(max(sig_coef[1], sig_coef[2]), sig_coef[3])
    for c in prange(chunks):
        i0, i1 = c * CHUNK, min(n, c * CHUNK + CHUNK)
        w = i1 - i0
        z = np.empty(w)
        e = np.empty(w)
        bits = np.empty(w, dtype=np.int64)
        fast = np.empty(w, dtype=np.bool_)
        for i in range(i0, i1):
            h = _mix(key0 + np.uint64(i) * _GOLDEN)
            li = np.int64(h & _L255)
            x = np.float64(h >> _S11) * _INV_2_53 * ZIG_X[li]
            fast[i - i0] = x < ZIG_X[li + 1]
            z[i - i0] = -x if (h >> _S8) & _L1 else x
        for i in range(i0, i1):
            if not fast[i - i0]:
                z[i - i0] = _normal(key, np.uint64(i))
        if constant:
            for jj in range(w):
                e[jj] = -abs(mu_c + sig_c * z[jj]) * log_ratio
        else:
            slot_bits = np.zeros(LEVEL_SLOTS, dtype=np.uint64)
            slot_used = np.zeros(LEVEL_SLOTS, dtype=np.bool_)
            slot_mu = np.empty(LEVEL_SLOTS)
            slot_sig = np.empty(LEVEL_SLOTS)
            for i in range(i0, i1):
                tb = target_bits[i]
                slot = np.int64((tb * _GOLDEN) >> np.uint64(58))
                if slot_used[slot] and slot_bits[slot] == tb:
                    mu, sig = slot_mu[slot], slot_sig[slot]
                else:
                    lg = math.log(max(abs(target[i]) * inv_g, G_REL_FLOOR))
                    mu = min(max(mu_coef[0] * lg + mu_coef[1], mu_coef[2]), mu_coef[3])
                    sig = min(max(sig_coef[0] * lg + sig_coef[1], sig_coef[2]), sig_coef[3])
                    slot_used[slot], slot_bits[slot], slot_mu[slot], slot_sig[slot] = True, tb, mu, sig
                e[i - i0] = -abs(mu + sig * z[i - i0]) * log_ratio
        exp_array(e, z, bits)
        for jj in range(w):
            out[i0 + jj] = G[i0 + jj] * z[jj]
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
    t = np.ascontiguousarray(target.reshape(-1))
    out = _drift(np.ascontiguousarray(G.reshape(-1)), t, t.view(np.uint64), float(g_max), mu, sig, float(log_ratio),
                 key, np.empty(G.size))
    return out.reshape(G.shape)
