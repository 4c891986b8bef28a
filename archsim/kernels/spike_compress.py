"""LoAS spike compression: the T spikes of a neuron packed in one word, a bitmask of the
non-silent neurons, and only the non-silent words stored, contiguously, row by row (a "fiber"
per row of the im2col'd spike matrix).

A neuron is silent when it fires at most ``silent_max`` times in T: 0 is LoAS's normal mode, 1
its "strong" mode (a neuron firing once is dropped too; lossy, the network is fine-tuned for it).
The compressed row is CSR-like: ``indptr`` [R+1], ``indices`` (the k positions, i.e. the set bits
of the bitmask) and ``values`` (the packed words). Storage in bits: ``R*K`` for the bitmask plus
``nnz * T`` for the words (:func:`compressed_bits`).
"""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import check_backend, kernel
from archsim.kernels.bits import popcount64


def compress_rows_reference(words: np.ndarray, silent_max: int):
    """Plain numpy: keep the words whose popcount exceeds ``silent_max``."""
    words = np.asarray(words)
    counts = np.bitwise_count(words.astype(np.uint64)).astype(np.int64)
    keep = counts > silent_max
    rows, cols = np.nonzero(keep)
    indptr = np.zeros(words.shape[0] + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    return indptr, cols.astype(np.int32), words[rows, cols].astype(np.uint64)


@kernel(reference=compress_rows_reference)
def _compress_rows_kernel(words, silent_max):
    R, K = words.shape
    indptr = np.zeros(R + 1, dtype=np.int64)
    for r in range(R):
        n = 0
        if silent_max == 0:
            for k in range(K):
                n += words[r, k] != 0            # branch-free: vectorised
        else:
            for k in range(K):
                w = words[r, k]
                if w != 0 and popcount64(np.uint64(w)) > silent_max:
                    n += 1
        indptr[r + 1] = indptr[r] + n
    indices = np.empty(indptr[R], dtype=np.int32)
    values = np.empty(indptr[R], dtype=np.uint64)
    p = 0
    for r in range(R):
        for k in range(K):
            w = words[r, k]
            if w != 0 and (silent_max == 0 or popcount64(np.uint64(w)) > silent_max):   # most words are 0
                indices[p] = k
                values[p] = np.uint64(w)
                p += 1
    return indptr, indices, values


def compress_rows(words: np.ndarray, silent_max: int = 0, backend: str = "numba"):
    """``[R, K]`` packed spike words -> ``(indptr, indices, values)`` of the non-silent words.
    ``silent_max=0``: normal mode; ``1``: strong mode."""
    check_backend(backend)
    words = np.asarray(words)
    if words.ndim != 2 or words.dtype.kind != "u":
        raise ValueError(f"compress_rows expects a 2-D array of unsigned words, got {words.dtype} {words.shape}")
    if silent_max < 0:
        raise ValueError(f"silent_max must be >= 0, got {silent_max}")
    if backend == "reference":
        return compress_rows_reference(words, silent_max)
    return _compress_rows_kernel(np.ascontiguousarray(words), int(silent_max))


def compressed_bits(rows: int, cols: int, nnz: int, word_bits: int) -> int:
    """Bits of a compressed spike matrix: one bitmask bit per position plus one T-bit word per
    non-silent neuron (the pointer of a fiber is not counted, as in the authors' model)."""
    return rows * cols + nnz * word_bits
