"""Tensor-train decomposition of a 3x3 convolution into TT-SNN's four cores (numpy).

A conv weight ``W [Cout, Cin, kh, kw]`` is read as the 4-way tensor ``[Cin, kh, kw, Cout]`` and
split by TT-SVD (Oseledets, SIAM J. Sci. Comput. 2011: sequential truncated SVDs of the
unfoldings) with ranks ``(1, r, r, r, 1)`` into cores ``C1 [Cin, r]``, ``C2 [r, kh, r]``,
``C3 [r, kw, r]``, ``C4 [r, Cout]``, so that

    W[o, i, a, b] = sum_{p, q, s} C1[i, p] C2[p, a, q] C3[q, b, s] C4[s, o]

which is the sequence of convolutions G1 (1x1, Cin -> r), G2 (kh x 1, r -> r), G3 (1 x kw, r -> r),
G4 (1x1, r -> Cout): :func:`conv_cores` returns their weights in PyTorch's layout.
"""
from __future__ import annotations

import numpy as np


def tt_svd(weight: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cores ``(C1, C2, C3, C4)`` of ``weight [Cout, Cin, kh, kw]`` with bond ranks at most
    ``rank`` (smaller where an unfolding has a smaller rank)."""
    w = np.asarray(weight, dtype=np.float64)
    if w.ndim != 4:
        raise ValueError(f"tt_svd expects a conv weight [Cout, Cin, kh, kw], got shape {w.shape}")
    if rank < 1:
        raise ValueError(f"rank must be >= 1, got {rank}")
    cout, cin, kh, kw = w.shape
    t = w.transpose(1, 2, 3, 0)                      # [Cin, kh, kw, Cout]

    def split(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, s, vt = np.linalg.svd(mat, full_matrices=False)
        k = min(rank, len(s))
        return u[:, :k], s[:k, None] * vt[:k]

    c1, rest = split(t.reshape(cin, kh * kw * cout))
    r1 = c1.shape[1]
    u, rest = split(rest.reshape(r1 * kh, kw * cout))
    r2 = u.shape[1]
    c2 = u.reshape(r1, kh, r2)
    u, c4 = split(rest.reshape(r2 * kw, cout))
    c3 = u.reshape(r2, kw, u.shape[1])
    return c1, c2, c3, c4


def reconstruct(c1, c2, c3, c4) -> np.ndarray:
    """``W [Cout, Cin, kh, kw]`` from the four cores."""
    return np.einsum("ip,paq,qbs,so->oiab", c1, c2, c3, c4)


def conv_cores(weight: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weights of G1 ``[r1, Cin, 1, 1]``, G2 ``[r2, r1, kh, 1]``, G3 ``[r3, r2, 1, kw]`` and G4
    ``[Cout, r3, 1, 1]`` (PyTorch's ``[out, in, kh, kw]``): applied in sequence they compute the
    truncated TT approximation of ``weight``."""
    c1, c2, c3, c4 = tt_svd(weight, rank)
    g1 = c1.T[:, :, None, None]
    g2 = c2.transpose(2, 0, 1)[:, :, :, None]
    g3 = c3.transpose(2, 0, 1)[:, :, None, :]
    g4 = c4.T[:, :, None, None]
    return g1, g2, g3, g4
