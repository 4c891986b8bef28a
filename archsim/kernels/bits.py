"""Bit tricks shared by the sparse kernels: population count of one 64-bit word and bitmask
packing (bit k of a row lands in word k // 64, bit k % 64)."""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import kernel

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_S1, _S2, _S4, _S8, _S16, _S32 = (np.uint64(s) for s in (1, 2, 4, 8, 16, 32))
_LOW7 = np.uint64(0x7F)


def popcount64_reference(x) -> int:
    """Number of set bits of one unsigned 64-bit word."""
    return bin(int(x)).count("1")


@kernel(reference=popcount64_reference)
def popcount64(x):
    # SWAR without a multiply (no overflow warnings when the JIT is off)
    x = x - ((x >> _S1) & _M1)
    x = (x & _M2) + ((x >> _S2) & _M2)
    x = (x + (x >> _S4)) & _M4
    x = x + (x >> _S8)
    x = x + (x >> _S16)
    x = x + (x >> _S32)
    return np.int64(x & _LOW7)


def pack_bitmask(mask: np.ndarray) -> np.ndarray:
    """``[R, K]`` booleans -> ``[R, ceil(K/64)]`` uint64 words; bit k of row r is word
    ``k // 64``, bit ``k % 64`` (the order a hardware bitmask chunk is read in)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2:
        raise ValueError(f"pack_bitmask expects a 2-D mask, got shape {mask.shape}")
    rows, K = mask.shape
    words = -(-K // 64) if K else 0
    padded = np.zeros((rows, words * 64), dtype=bool)
    padded[:, :K] = mask
    packed = np.packbits(padded.reshape(rows, words * 8, 8), axis=2, bitorder="little")
    return np.ascontiguousarray(packed.reshape(rows, words * 8)).view("<u8").astype(np.uint64)
