"""Inner-join circuits of bitmask-compressed fibers, functionally.

Both operands of a dot product are bitmask-compressed: a bitmask over the K positions and the
nonzero values stored contiguously. The **prefix-sum inner join** (SparTen, MICRO 2019) ANDs the
two bitmask chunks; each set bit of the AND is a matched pair, and the prefix sum (popcount of
the bits below the match) of each operand's bitmask is the offset of the matched value in that
operand's value stream (:func:`inner_join`). :func:`join_counts` is the AND + popcount per chunk,
i.e. how many matched pairs each chunk yields (the cycles of a one-match-per-cycle join).

**LoAS's FTP-friendly join** (:func:`ftp_accumulate`): the weight offset comes from a fast
prefix sum, while the spike-word offset comes late from a cheap "laggy" prefix sum. Meanwhile
the TPPE speculates that the matched neuron fired at every timestep: it adds the weight to one
pseudo-accumulator, and when the real T-bit word arrives, adds the weight into the correction
accumulator of every timestep whose bit is 0. ``O[t] = pseudo - correction[t]``: exact.
"""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import check_backend, kernel
from archsim.kernels.bits import pack_bitmask, popcount64

_ONE = np.uint64(1)
_ZERO = np.uint64(0)


# --- AND + popcount per chunk --------------------------------------------------------------------

def join_counts_reference(a_bits: np.ndarray, b_bits: np.ndarray, words_per_chunk: int) -> np.ndarray:
    """Matched pairs per (row of A, column of B, chunk): unpack the bitmasks and take, per chunk,
    the integer product of the 0/1 matrices."""
    W = a_bits.shape[1]
    a = np.unpackbits(a_bits.astype("<u8").view(np.uint8).reshape(a_bits.shape[0], W * 8), axis=1,
                      bitorder="little").astype(np.int64)
    b = np.unpackbits(b_bits.astype("<u8").view(np.uint8).reshape(b_bits.shape[0], W * 8), axis=1,
                      bitorder="little").astype(np.int64)
    width = words_per_chunk * 64
    chunks = -(-W // words_per_chunk)
    out = np.zeros((a.shape[0], b.shape[0], chunks), dtype=np.int32)
    for c in range(chunks):
        out[:, :, c] = a[:, c * width:(c + 1) * width] @ b[:, c * width:(c + 1) * width].T
    return out


@kernel(reference=join_counts_reference)
def _join_counts_kernel(a_bits, b_bits, words_per_chunk):
    M, W = a_bits.shape
    N = b_bits.shape[0]
    chunks = (W + words_per_chunk - 1) // words_per_chunk
    out = np.zeros((M, N, chunks), dtype=np.int32)
    for m in range(M):
        for n in range(N):
            for w in range(W):
                x = a_bits[m, w] & b_bits[n, w]
                if x != _ZERO:
                    out[m, n, w // words_per_chunk] += np.int32(popcount64(x))
    return out


def join_counts(a_mask: np.ndarray, b_mask: np.ndarray, chunk_bits: int = 128,
                backend: str = "numba") -> np.ndarray:
    """``a_mask`` [M, K] and ``b_mask`` [N, K] (B given column-major, one row per output
    column) -> matched pairs ``[M, N, ceil(K/chunk_bits)]``. ``chunk_bits`` is a multiple of 64."""
    check_backend(backend)
    if chunk_bits < 64 or chunk_bits % 64:
        raise ValueError(f"chunk_bits must be a positive multiple of 64, got {chunk_bits}")
    a_mask, b_mask = np.asarray(a_mask, dtype=bool), np.asarray(b_mask, dtype=bool)
    if a_mask.ndim != 2 or b_mask.ndim != 2 or a_mask.shape[1] != b_mask.shape[1]:
        raise ValueError(f"masks must be [M, K] and [N, K], got {a_mask.shape} and {b_mask.shape}")
    a_bits, b_bits = pack_bitmask(a_mask), pack_bitmask(b_mask)
    if backend == "reference":
        return join_counts_reference(a_bits, b_bits, chunk_bits // 64)
    return _join_counts_kernel(a_bits, b_bits, chunk_bits // 64)


# --- prefix-sum inner join of one fiber pair -----------------------------------------------------

def inner_join_reference(a_bits: np.ndarray, b_bits: np.ndarray):
    """Positions of the matched pairs and their offsets in A's and B's value streams."""
    a = np.unpackbits(a_bits.astype("<u8").view(np.uint8), bitorder="little").astype(bool)
    b = np.unpackbits(b_bits.astype("<u8").view(np.uint8), bitorder="little").astype(bool)
    pos = np.nonzero(a & b)[0]
    off_a = np.cumsum(a) - 1
    off_b = np.cumsum(b) - 1
    return pos.astype(np.int64), off_a[pos].astype(np.int64), off_b[pos].astype(np.int64)


@kernel(reference=inner_join_reference)
def _inner_join_kernel(a_bits, b_bits):
    W = a_bits.shape[0]
    total = 0
    for w in range(W):
        total += popcount64(a_bits[w] & b_bits[w])
    pos = np.empty(total, dtype=np.int64)
    off_a = np.empty(total, dtype=np.int64)
    off_b = np.empty(total, dtype=np.int64)
    base_a = 0     # prefix sums at the word boundary
    base_b = 0
    i = 0
    for w in range(W):
        a = a_bits[w]
        b = b_bits[w]
        x = a & b
        while x != _ZERO:
            low = x & (~x + _ONE)          # the priority encoder: lowest matched bit
            below = low - _ONE
            pos[i] = w * 64 + popcount64(below)
            off_a[i] = base_a + popcount64(a & below)   # prefix sum of A's bitmask
            off_b[i] = base_b + popcount64(b & below)   # prefix sum of B's bitmask
            x = x ^ low
            i += 1
        base_a += popcount64(a)
        base_b += popcount64(b)
    return pos, off_a, off_b


def inner_join(a_mask: np.ndarray, b_mask: np.ndarray, backend: str = "numba"):
    """One fiber pair (1-D masks of length K) -> ``(positions, offsets in A, offsets in B)``."""
    check_backend(backend)
    a_mask, b_mask = np.asarray(a_mask, dtype=bool), np.asarray(b_mask, dtype=bool)
    if a_mask.ndim != 1 or a_mask.shape != b_mask.shape:
        raise ValueError(f"inner_join expects two 1-D masks of equal length, got {a_mask.shape}, {b_mask.shape}")
    a_bits, b_bits = pack_bitmask(a_mask[None])[0], pack_bitmask(b_mask[None])[0]
    if backend == "reference":
        return inner_join_reference(a_bits, b_bits)
    return _inner_join_kernel(a_bits, b_bits)


# --- FTP-friendly join with speculation and correction -------------------------------------------

def ftp_accumulate_reference(a_bits, a_words, b_bits, b_values, timesteps):
    """The same result computed directly: ``O[t] = sum_k spike[t, k] * w[k]``; also returns the
    number of matches and of matches whose word is not all ones (mispredictions)."""
    a = np.unpackbits(a_bits.astype("<u8").view(np.uint8), bitorder="little").astype(bool)
    b = np.unpackbits(b_bits.astype("<u8").view(np.uint8), bitorder="little").astype(bool)
    words = np.zeros(a.size, dtype=np.uint64)
    words[np.nonzero(a)[0]] = a_words
    weights = np.zeros(b.size, dtype=np.int64)
    weights[np.nonzero(b)[0]] = b_values
    out = np.zeros(timesteps, dtype=np.int64)
    for t in range(timesteps):
        fired = ((words >> np.uint64(t)) & np.uint64(1)).astype(bool)
        out[t] = weights[fired & a].sum()
    matched = a & b
    full = np.uint64((1 << timesteps) - 1)
    return out, int(matched.sum()), int((matched & (words != full)).sum())


@kernel(reference=ftp_accumulate_reference)
def _ftp_accumulate_kernel(a_bits, a_words, b_bits, b_values, timesteps):
    pos, off_a, off_b = _inner_join_kernel(a_bits, b_bits)
    full = (_ONE << np.uint64(timesteps)) - _ONE
    pseudo = 0
    correction = np.zeros(timesteps, dtype=np.int64)
    mispredict = 0
    for i in range(pos.shape[0]):
        w = np.int64(b_values[off_b[i]])    # fast prefix sum: weight offset at once
        pseudo += w                          # speculate: the neuron fired at every t
        word = a_words[off_a[i]]             # laggy prefix sum: spike word, later
        if word != full:
            mispredict += 1
            for t in range(timesteps):
                if (word >> np.uint64(t)) & _ONE == _ZERO:
                    correction[t] += w
    out = np.empty(timesteps, dtype=np.int64)
    for t in range(timesteps):
        out[t] = pseudo - correction[t]
    return out, pos.shape[0], mispredict


def ftp_accumulate(spike_words: np.ndarray, weights: np.ndarray, timesteps: int, backend: str = "numba"):
    """One output neuron: packed spike words ``[K]`` (bit t = timestep t) and integer weights
    ``[K]`` -> ``(O[T], matches, mispredictions)`` through the speculative FTP join."""
    check_backend(backend)
    spike_words = np.asarray(spike_words).astype(np.uint64)
    weights = np.asarray(weights).astype(np.int64)
    if spike_words.ndim != 1 or spike_words.shape != weights.shape:
        raise ValueError("spike_words and weights must be 1-D of the same length")
    if not 1 <= timesteps <= 63:
        raise ValueError(f"timesteps must be in 1..63, got {timesteps}")
    a_mask, b_mask = spike_words != 0, weights != 0
    a_bits, b_bits = pack_bitmask(a_mask[None])[0], pack_bitmask(b_mask[None])[0]
    args = (a_bits, spike_words[a_mask], b_bits, weights[b_mask], int(timesteps))
    if backend == "reference":
        return ftp_accumulate_reference(*args)
    return _ftp_accumulate_kernel(*args)
