"""Wire (IR) drop in a crossbar: the CrossSim-style relaxation solve along rows and columns.

A crossbar has ``R`` rows driven at one end (column 0 side) with voltages ``V`` and ``C``
columns held at virtual ground at the far end (row ``R-1`` side). Neighbouring cells of a row
are joined by wire segments of ``r_row`` ohms (the first segment joins the driver to cell
(i, 0)); neighbouring cells of a column by ``r_col`` (the last joins cell (R-1, j) to the
sense amplifier). With cell voltage drops ``dV`` the cell currents are ``I = G dV``; the row
segment ``k`` of row ``i`` carries ``sum_{j >= k} I[i, j]`` and the column segment below row ``i``
carries ``sum_{i' <= i} I[i', j]``, which gives the node voltages

    V_row[i, j] = V[i] - r_row sum_{k <= j} sum_{j' >= k} I[i, j']
    V_col[i, j] = r_col sum_{k >= i} sum_{i' <= k} I[i', j]

and the iteration ``dV <- dV + gamma ((V_row - V_col) - dV)`` from ``dV = V`` until the largest
change is below ``tol * max|V|``. Its fixed point satisfies Kirchhoff's laws exactly (a dense
nodal solve in :mod:`archsim.noise.ir_drop` checks it). Returns the column currents.
"""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import check_backend, kernel


def ir_drop_currents_reference(G, V, r_row, r_col, gamma, tol, max_iter):
    """``G`` (R, C) siemens, ``V`` (B, R) volts -> (column currents (B, C) amperes, iterations)."""
    B = V.shape[0]
    out = np.empty((B, G.shape[1]))
    iters = 0
    for b in range(B):
        v = V[b][:, None]
        dv = np.broadcast_to(v, G.shape).copy()
        limit = tol * max(np.max(np.abs(v)), 1e-300)
        for it in range(1, max_iter + 1):
            cur = G * dv
            seg_row = np.cumsum(cur[:, ::-1], axis=1)[:, ::-1]
            v_row = v - r_row * np.cumsum(seg_row, axis=1)
            seg_col = np.cumsum(cur, axis=0)
            v_col = r_col * np.cumsum(seg_col[::-1], axis=0)[::-1]
            step = (v_row - v_col) - dv
            dv = dv + gamma * step
            if np.max(np.abs(step)) < limit:
                break
        iters = max(iters, it)
        out[b] = (G * dv).sum(axis=0)
    return out, iters


@kernel(reference=ir_drop_currents_reference)
def _ir_drop_currents(G, V, r_row, r_col, gamma, tol, max_iter):
    R, C = G.shape
    B = V.shape[0]
    out = np.empty((B, C))
    dv = np.empty((R, C))
    cur = np.empty((R, C))
    v_row = np.empty((R, C))
    v_col = np.empty((R, C))
    iters = 0
    for b in range(B):
        vmax = 1e-300
        for i in range(R):
            vmax = max(vmax, abs(V[b, i]))
            for j in range(C):
                dv[i, j] = V[b, i]
        limit = tol * vmax
        it = 0
        for it in range(1, max_iter + 1):
            for i in range(R):
                for j in range(C):
                    cur[i, j] = G[i, j] * dv[i, j]
            for i in range(R):           # row wires: reverse cumulative current, then its cumulative drop
                seg = 0.0
                for j in range(C - 1, -1, -1):
                    seg += cur[i, j]
                    v_row[i, j] = seg
                drop = 0.0
                for j in range(C):
                    drop += v_row[i, j]
                    v_row[i, j] = V[b, i] - r_row * drop
            for j in range(C):           # column wires: cumulative current, then drop summed from the bottom
                seg = 0.0
                for i in range(R):
                    seg += cur[i, j]
                    v_col[i, j] = seg
                drop = 0.0
                for i in range(R - 1, -1, -1):
                    drop += v_col[i, j]
                    v_col[i, j] = r_col * drop
            worst = 0.0
            for i in range(R):
                for j in range(C):
                    step = (v_row[i, j] - v_col[i, j]) - dv[i, j]
                    dv[i, j] = dv[i, j] + gamma * step
                    worst = max(worst, abs(step))
            if worst < limit:
                break
        iters = max(iters, it)
        for j in range(C):
            total = 0.0
            for i in range(R):
                total += G[i, j] * dv[i, j]
            out[b, j] = total
    return out, iters


def ir_drop_currents(G, V, r_row: float, r_col: float, *, gamma: float = 1.0, tol: float = 1e-9,
                     max_iter: int = 1000, backend: str = "numba"):
    """Column currents of a crossbar with wire resistance; see the module docstring."""
    check_backend(backend)
    G = np.ascontiguousarray(G, dtype=np.float64)
    V = np.ascontiguousarray(np.atleast_2d(V), dtype=np.float64)
    if G.ndim != 2 or V.shape[1] != G.shape[0]:
        raise ValueError(f"G {G.shape} and V {V.shape}: need (R, C) and (B, R)")
    if r_row < 0 or r_col < 0 or not 0 < gamma <= 2 or max_iter < 1:
        raise ValueError("need r_row, r_col >= 0, 0 < gamma <= 2, max_iter >= 1")
    args = (G, V, float(r_row), float(r_col), float(gamma), float(tol), int(max_iter))
    if backend == "reference":
        return ir_drop_currents_reference(*args)
    return _ir_drop_currents(*args)
