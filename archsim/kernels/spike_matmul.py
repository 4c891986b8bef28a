"""The spike x spike product on packed words: both operands hold one word per neuron whose bit t
is the spike at timestep t, and each output counts the timesteps and positions where both fired,

    out[m, n] = sum_k popcount(a[m, k] & b[k, n])  =  sum_t (A_t @ B_t)[m, n],

the AND-and-popcount a temporal-parallel engine performs for STAtten's K^T V (the sum over the
timesteps of a chunk is the popcount over the word's bits). A hardware model uses it for the
values (the accumulator range) and the number of bit products that were 1.
"""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import check_backend, kernel
from archsim.kernels.bits import popcount64


def and_popcount_matmul_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plain numpy: unpack the words to timestep planes and add the planes' binary products."""
    a = np.asarray(a, dtype=np.uint64)
    b = np.asarray(b, dtype=np.uint64)
    bits = 64
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.int64)
    for t in range(bits):
        at = ((a >> np.uint64(t)) & np.uint64(1)).astype(np.int64)
        bt = ((b >> np.uint64(t)) & np.uint64(1)).astype(np.int64)
        if at.any() and bt.any():
            out += at @ bt
    return out


@kernel(reference=and_popcount_matmul_reference)
def _and_popcount_matmul_kernel(a, b):
    M, K = a.shape
    N = b.shape[1]
    out = np.zeros((M, N), dtype=np.int64)
    for m in range(M):
        for k in range(K):
            w = a[m, k]
            if w == 0:                 # silent neuron: nothing to AND (the compressed format skips it)
                continue
            for n in range(N):
                v = b[k, n]
                if v != 0:
                    out[m, n] += popcount64(w & v)
    return out


def and_popcount_matmul(a: np.ndarray, b: np.ndarray, backend: str = "numba") -> np.ndarray:
    """``a [M, K]`` and ``b [K, N]`` packed spike words (unsigned, up to 64 timesteps) ->
    ``[M, N]`` int64: the sum over k and over the timesteps of both spiking."""
    check_backend(backend)
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"and_popcount_matmul expects [M, K] x [K, N] words, got {a.shape} x {b.shape}")
    if a.dtype.kind != "u" or b.dtype.kind != "u":
        raise ValueError(f"and_popcount_matmul expects unsigned words, got {a.dtype} and {b.dtype}")
    a = np.ascontiguousarray(a, dtype=np.uint64)
    b = np.ascontiguousarray(b, dtype=np.uint64)
    if backend == "reference":
        return and_popcount_matmul_reference(a, b)
    return _and_popcount_matmul_kernel(a, b)
