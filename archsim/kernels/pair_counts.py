"""Matched-pair enumeration: the work of each PE in each tile of a tiled spMspM.

A matched pair is (m, k, n) with A[m, k] != 0 and B[k, n] != 0: one effectual operation. The
kernel visits exactly the matched pairs (row m of A in CSR form, then for each of its nonzero k
the nonzero columns n of row k of B), so its cost grows with the work done, not with M*N*K.

Each pair is binned by the PE that performs it and by its tile:

* ``split="m"`` (a PE per row of A, e.g. LoAS, Gamma): ``loads[m, n // tn, k // tk]``
* ``split="n"`` (a PE per column of B, e.g. SparTen, GoSPA): ``loads[n, m // tm, k // tk]``

and a second count adds ``a_flag`` of each pair (LoAS: 1 when the spike word is not all ones,
i.e. a pair that needs the correction path).
"""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import check_backend, kernel


def _dense(indptr, indices, values, rows, cols):
    out = np.zeros((rows, cols), dtype=np.int64)
    r = np.repeat(np.arange(rows), np.diff(indptr))
    out[r, indices] = values
    return out


def pe_loads_reference(a_indptr, a_indices, a_flag, b_indptr, b_indices, M, N, K, tm, tn, tk, split_m):
    """Dense spec: per k chunk, the 0/1 product ``A[:, chunk] @ B[chunk, :]`` gives the pairs per
    (m, n); summing it over the tile's rows or columns gives each PE's load."""
    a = _dense(a_indptr, a_indices, np.ones(len(a_indices), dtype=np.int64), M, K)
    f = _dense(a_indptr, a_indices, np.asarray(a_flag, dtype=np.int64), M, K)
    b = _dense(b_indptr, b_indices, np.ones(len(b_indices), dtype=np.int64), K, N)
    C = -(-K // tk)
    if split_m:
        G = -(-N // tn)
        loads = np.zeros((M, G, C), dtype=np.int32)
        flagged = np.zeros((M, G, C), dtype=np.int32)
    else:
        G = -(-M // tm)
        loads = np.zeros((N, G, C), dtype=np.int32)
        flagged = np.zeros((N, G, C), dtype=np.int32)
    for c in range(C):
        ks = slice(c * tk, (c + 1) * tk)
        for src, dst in ((a, loads), (f, flagged)):
            pairs = src[:, ks] @ b[ks, :]                    # [M, N]
            if split_m:
                padded = np.zeros((M, G * tn), dtype=np.int64)
                padded[:, :N] = pairs
                dst[:, :, c] = padded.reshape(M, G, tn).sum(axis=2)
            else:
                padded = np.zeros((N, G * tm), dtype=np.int64)
                padded[:, :M] = pairs.T
                dst[:, :, c] = padded.reshape(N, G, tm).sum(axis=2)
    return loads, flagged


@kernel(reference=pe_loads_reference)
def _pe_loads_kernel(a_indptr, a_indices, a_flag, b_indptr, b_indices, M, N, K, tm, tn, tk, split_m):
    C = (K + tk - 1) // tk
    if split_m:
        G = (N + tn - 1) // tn
        loads = np.zeros((M, G, C), dtype=np.int32)
        flagged = np.zeros((M, G, C), dtype=np.int32)
    else:
        G = (M + tm - 1) // tm
        loads = np.zeros((N, G, C), dtype=np.int32)
        flagged = np.zeros((N, G, C), dtype=np.int32)
    for m in range(M):
        gm = m // tm
        for p in range(a_indptr[m], a_indptr[m + 1]):
            k = a_indices[p]
            c = k // tk
            f = np.int32(a_flag[p])
            for q in range(b_indptr[k], b_indptr[k + 1]):
                n = b_indices[q]
                if split_m:
                    loads[m, n // tn, c] += 1
                    flagged[m, n // tn, c] += f
                else:
                    loads[n, gm, c] += 1
                    flagged[n, gm, c] += f
    return loads, flagged


def pe_loads(a_indptr, a_indices, a_flag, b_indptr, b_indices, shape: tuple[int, int, int],
             tile: tuple[int, int, int], split: str, backend: str = "numba"):
    """Per-PE, per-tile matched pairs. ``A`` is CSR over rows m (``a_indptr`` [M+1],
    ``a_indices`` = k, ``a_flag`` per nonzero); ``B`` is CSR over rows k (``b_indptr`` [K+1],
    ``b_indices`` = n). ``shape = (M, N, K)``, ``tile = (tm, tn, tk)``; ``split`` is ``"m"`` or
    ``"n"`` (see the module docstring). Returns ``(loads, flagged)``, int32."""
    check_backend(backend)
    if split not in ("m", "n"):
        raise ValueError(f"split must be 'm' or 'n', got {split!r}")
    M, N, K = (int(v) for v in shape)
    tm, tn, tk = (int(v) for v in tile)
    if min(M, N, K) < 1 or min(tm, tn, tk) < 1:
        raise ValueError(f"shape {shape} and tile {tile} must be positive")
    if len(a_indptr) != M + 1 or len(b_indptr) != K + 1:
        raise ValueError("a_indptr needs M+1 entries and b_indptr K+1")
    args = (np.asarray(a_indptr, dtype=np.int64), np.asarray(a_indices, dtype=np.int32),
            np.asarray(a_flag, dtype=np.uint8), np.asarray(b_indptr, dtype=np.int64),
            np.asarray(b_indices, dtype=np.int32), M, N, K, tm, tn, tk, split == "m")
    if backend == "reference":
        return pe_loads_reference(*args)
    return _pe_loads_kernel(*args)
