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


def spike_format_bits(words: np.ndarray, timesteps: int, nonsilent: np.ndarray | None = None,
                      backend: str = "numba") -> dict[str, float]:
    """Bits of ``words [M, K]`` in each format. ``nonsilent``: the words a normal-mode compression
    kept (every word with a spike), when the caller has them; everything is counted from those,
    in O(nonzeros)."""
    words = np.asarray(words)
    M, K = words.shape
    T = timesteps
    if nonsilent is None:
        nonsilent = compress_rows(words, 0, backend=backend)[2]
    counts = np.bitwise_count(nonsilent)
    strong = int(np.count_nonzero(counts > 1))
    per_t = [int(np.count_nonzero(nonsilent & (np.uint64(1) << np.uint64(t)))) for t in range(T)]
    col_bits, row_bits = _bits_for(K), _bits_for(M)
    csr = sum(n * col_bits + (M + 1) * _bits_for(n + 1) for n in per_t)
    coo = sum(n * (row_bits + col_bits) for n in per_t)
    return {
        "dense": float(T * M * K),
        "csr_per_t": float(csr),
        "coo_per_t": float(coo),
        "loas": float(compressed_bits(M, K, len(nonsilent), T)),
        "loas_strong": float(compressed_bits(M, K, strong, T)),
    }
