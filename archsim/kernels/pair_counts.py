"""Matched-pair enumeration: the work of each PE in each tile of a tiled spMspM.

A matched pair is (m, k, n) with A[m, k] != 0 and B[k, n] != 0: one effectual operation. The
kernel walks row m of A in CSR form and, for each of its nonzero k, the nonzeros of row k of B,
counting pairs that fall into the same bin together; its cost grows with the work done (at most
the number of matched pairs), not with M*N*K.

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
    (m, n); summing it over the tile's rows or columns gives each PE's load. Also returns the
    nonzeros of A per (tile_m x tile_k) block."""
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
    Gm = -(-M // tm)
    padded = np.zeros((Gm * tm, C * tk), dtype=np.int64)
    padded[:M, :K] = a
    blocks = padded.reshape(Gm, tm, C, tk).sum(axis=(1, 3))
    return loads, flagged, blocks


@kernel(reference=pe_loads_reference)
def _pe_loads_kernel(a_indptr, a_indices, a_flag, b_indptr, b_indices, M, N, K, tm, tn, tk, split_m):
    # Pairs that land in the same bin are counted together: with a PE per row, the nonzeros of a
    # B row are grouped by column tile; with a PE per column, the nonzeros of A are grouped by
    # (row tile, k). The work is the number of nonzero (A entry, B group) or (A group, B entry)
    # combinations: at most the number of matched pairs, never the dense M*N*K.
    C = (K + tk - 1) // tk
    Gm = (M + tm - 1) // tm
    Gn = (N + tn - 1) // tn
    R = M if split_m else N
    G = Gn if split_m else Gm
    loads = np.zeros(R * G * C, dtype=np.int32)
    flagged = np.zeros(R * G * C, dtype=np.int32)
    blocks = np.zeros((Gm, C), dtype=np.int64)
    if split_m:
        # B row k -> runs of equal column tile: (offset g*C, count)
        g_ptr = np.zeros(K + 1, dtype=np.int64)
        g_off = np.empty(b_indices.shape[0], dtype=np.int64)
        g_cnt = np.empty(b_indices.shape[0], dtype=np.int32)
        w = 0
        for k in range(K):
            last = -1
            for q in range(b_indptr[k], b_indptr[k + 1]):
                g = b_indices[q] // tn
                if g != last:
                    g_off[w] = g * C
                    g_cnt[w] = 0
                    w += 1
                    last = g
                g_cnt[w - 1] += 1
            g_ptr[k + 1] = w
        for m in range(M):
            gm = m // tm
            row = m * G * C
            for p in range(a_indptr[m], a_indptr[m + 1]):
                k = a_indices[p]
                c = k // tk
                blocks[gm, c] += 1
                f = np.int32(a_flag[p])
                for q in range(g_ptr[k], g_ptr[k + 1]):
                    i = row + g_off[q] + c
                    loads[i] += g_cnt[q]
                    flagged[i] += f * g_cnt[q]
    else:
        a_cnt = np.zeros((Gm, K), dtype=np.int32)
        a_fl = np.zeros((Gm, K), dtype=np.int32)
        for m in range(M):
            gm = m // tm
            for p in range(a_indptr[m], a_indptr[m + 1]):
                k = a_indices[p]
                a_cnt[gm, k] += 1
                a_fl[gm, k] += np.int32(a_flag[p])
                blocks[gm, k // tk] += 1
        for gm in range(Gm):
            for k in range(K):
                cnt = a_cnt[gm, k]
                if cnt == 0:
                    continue
                fl = a_fl[gm, k]
                off = gm * C + k // tk
                for q in range(b_indptr[k], b_indptr[k + 1]):
                    i = b_indices[q] * G * C + off
                    loads[i] += cnt
                    flagged[i] += fl
    return loads.reshape(R, G, C), flagged.reshape(R, G, C), blocks


def pe_loads(a_indptr, a_indices, a_flag, b_indptr, b_indices, shape: tuple[int, int, int],
             tile: tuple[int, int, int], split: str, backend: str = "numba"):
    """Per-PE, per-tile matched pairs. ``A`` is CSR over rows m (``a_indptr`` [M+1],
    ``a_indices`` = k, ``a_flag`` per nonzero); ``B`` is CSR over rows k (``b_indptr`` [K+1],
    ``b_indices`` = n). ``shape = (M, N, K)``, ``tile = (tm, tn, tk)``; ``split`` is ``"m"`` or
    ``"n"`` (see the module docstring). Returns ``(loads, flagged)`` (int32) and the nonzeros of A
    per (tile_m x tile_k) block, ``[ceil(M/tm), ceil(K/tk)]``."""
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
