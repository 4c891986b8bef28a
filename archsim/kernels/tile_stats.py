"""One pass over a weight matrix for the tile walk: its CSR by reduction row k (the B fibers the
pair enumeration walks), and per (tile_k x tile_n) block the nonzeros and the columns holding a
nonzero."""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import check_backend, kernel


def weight_tiles_reference(weights, tk, tn):
    mask = weights != 0
    K, N = mask.shape
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(K + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=K), out=indptr[1:])
    C, G = -(-K // tk), -(-N // tn)
    padded = np.zeros((C * tk, G * tn), dtype=np.int64)
    padded[:K, :N] = mask
    nnz = padded.reshape(C, tk, G, tn).sum(axis=(1, 3))
    col_any = padded.reshape(C, tk, G * tn).any(axis=1)
    nzcols = col_any.reshape(C, G, tn).sum(axis=2).astype(np.int64)
    return indptr, cols.astype(np.int32), nnz, nzcols


@kernel(reference=weight_tiles_reference)
def _weight_tiles_kernel(weights, tk, tn):
    K, N = weights.shape
    C = (K + tk - 1) // tk
    G = (N + tn - 1) // tn
    indptr = np.zeros(K + 1, dtype=np.int64)
    for k in range(K):
        n_k = 0
        for n in range(N):
            n_k += weights[k, n] != 0        # branch-free: the compiler vectorises the count
        indptr[k + 1] = indptr[k] + n_k
    indices = np.empty(indptr[K], dtype=np.int32)
    nnz = np.zeros((C, G), dtype=np.int64)
    nzcols = np.zeros((C, G), dtype=np.int64)
    seen = np.zeros((C, N), dtype=np.bool_)
    p = 0
    for k in range(K):
        c = k // tk
        for n in range(N):
            if weights[k, n] != 0:
                indices[p] = n
                p += 1
                nnz[c, n // tn] += 1
                if not seen[c, n]:
                    seen[c, n] = True
                    nzcols[c, n // tn] += 1
    return indptr, indices, nnz, nzcols


def weight_tiles(weights: np.ndarray, tk: int, tn: int, backend: str = "numba"):
    """``weights [K, N]`` -> ``(indptr [K+1], indices (n), nnz [C, G], nonzero columns [C, G])``
    with ``C = ceil(K/tk)``, ``G = ceil(N/tn)``."""
    check_backend(backend)
    weights = np.ascontiguousarray(weights)
    if weights.ndim != 2 or tk < 1 or tn < 1:
        raise ValueError(f"weights must be [K, N] and tile sizes positive, got {weights.shape}, {tk}, {tn}")
    if backend == "reference":
        return weight_tiles_reference(weights, int(tk), int(tn))
    return _weight_tiles_kernel(weights, int(tk), int(tn))
