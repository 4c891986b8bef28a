"""Storage cost of a spike matrix in the formats the LoAS paper compares (Section IV-A): the
numbers behind its compression ablation.

For ``words [M, K]`` (bit t = spike at timestep t):

* ``dense``: one bit per neuron per timestep, ``T*M*K`` (SparTen-S keeps spikes like this; the
  spike plane is its own bitmask);
* ``csr_per_t``: per timestep, a column index per spike (``ceil(log2 K)`` bits) and a row pointer
  per row (``ceil(log2(nnz_t + 1))`` bits, M + 1 of them);
* ``coo_per_t``: per timestep, row and column index per spike;
* ``loas``: one bitmask bit per neuron plus one T-bit word per non-silent neuron;
* ``loas_strong``: the same with neurons firing once treated as silent (lossy).
"""
from __future__ import annotations

import math

import numpy as np

from archsim.kernels.spike_compress import compress_rows, compressed_bits


def _bits_for(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


def spike_format_bits(words: np.ndarray, timesteps: int, normal_nnz: int | None = None,
                      backend: str = "numba") -> dict[str, float]:
    """Bits of ``words [M, K]`` in each format. ``normal_nnz`` (non-silent neurons), when the
    caller has already compressed the matrix, saves one compression."""
    words = np.asarray(words)
    M, K = words.shape
    T = timesteps
    if normal_nnz is None:
        normal_nnz = compress_rows(words, 0, backend=backend)[1].size      # non-silent words stored
    strong_nnz = compress_rows(words, 1, backend=backend)[1].size
    one = words.dtype.type(1)
    per_t = [int(np.count_nonzero(words & (one << words.dtype.type(t)))) for t in range(T)]
    col_bits, row_bits = _bits_for(K), _bits_for(M)
    csr = sum(n * col_bits + (M + 1) * _bits_for(n + 1) for n in per_t)
    coo = sum(n * (row_bits + col_bits) for n in per_t)
    return {
        "dense": float(T * M * K),
        "csr_per_t": float(csr),
        "coo_per_t": float(coo),
        "loas": float(compressed_bits(M, K, normal_nnz, T)),
        "loas_strong": float(compressed_bits(M, K, strong_nnz, T)),
    }
