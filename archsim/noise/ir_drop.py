"""IR drop: the relaxation solve (fast, :mod:`archsim.kernels.ir_drop`) and a dense nodal solve
of the full resistor network (numpy linear algebra) that checks it on small arrays."""
from __future__ import annotations

import numpy as np

from archsim.kernels.ir_drop import ir_drop_currents

__all__ = ["ir_drop_currents", "ir_drop_dense"]


def ir_drop_dense(G: np.ndarray, V: np.ndarray, r_row: float, r_col: float) -> np.ndarray:
    """Column currents (B, C) by nodal analysis of the whole network: 2 R C unknown node voltages
    (a row node and a column node per cell), Kirchhoff's current law at each, one dense solve.
    Same circuit as the relaxation solve: drivers at the column-0 end of every row through
    ``r_row``, virtual ground below row R-1 of every column through ``r_col``. Needs r > 0."""
    G = np.asarray(G, dtype=np.float64)
    V = np.atleast_2d(np.asarray(V, dtype=np.float64))
    if r_row <= 0 or r_col <= 0:
        raise ValueError("the dense solve needs r_row > 0 and r_col > 0")
    R, C = G.shape
    gr, gc = 1.0 / r_row, 1.0 / r_col
    n = 2 * R * C
    A = np.zeros((n, n))
    rhs = np.zeros((n, V.shape[0]))

    def row(i, j):
        return i * C + j

    def col(i, j):
        return R * C + i * C + j

    def link(a, b, g):
        A[a, a] += g
        A[b, b] += g
        A[a, b] -= g
        A[b, a] -= g

    for i in range(R):
        for j in range(C):
            link(row(i, j), col(i, j), G[i, j])
            if j + 1 < C:
                link(row(i, j), row(i, j + 1), gr)
            if i + 1 < R:
                link(col(i, j), col(i + 1, j), gc)
        A[row(i, 0), row(i, 0)] += gr            # driver: conductance gr to the source V[b, i]
        rhs[row(i, 0)] = gr * V[:, i]
    for j in range(C):
        A[col(R - 1, j), col(R - 1, j)] += gc    # sense amplifier: gc to virtual ground
    x = np.linalg.solve(A, rhs)
    return (gc * x[[col(R - 1, j) for j in range(C)]]).T
