"""Integer inputs as the digits a crossbar's DACs apply, one plane per digit (bit-serial input).

Unsigned values: ``ceil(b / dac)`` digits of ``dac`` bits, plane ``p`` weighing ``2^(dac p)``.
Signed values (two's complement, ``b`` bits): the ``b - 1`` magnitude bits in digits plus a sign
plane weighing ``-2^(b-1)``. The kernel writes the planes of a batch of operands straight in the
crossbar product's layout ``(operand, plane, row, column)``, with the columns in the order of the
programmed rows (``perm``); the reference builds the same array with numpy.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from archsim.kernels._jit import check_backend, kernel


def plane_weights(bits: int, signed: bool, dac_bits: int) -> np.ndarray:
    """The weight of each plane (see the module docstring)."""
    if not signed:
        return 2.0 ** (dac_bits * np.arange(math.ceil(bits / dac_bits)))
    shifts = dac_bits * np.arange(math.ceil((bits - 1) / dac_bits))
    return np.concatenate([2.0 ** shifts, [-(2.0 ** (bits - 1))]])


def input_digits_reference(xq: np.ndarray, bits: int, signed: bool, dac_bits: int) -> np.ndarray:
    """Digits (P, *xq.shape) uint8 of the integer inputs ``xq``."""
    mask = 2 ** dac_bits - 1
    if bits <= 30:                              # narrower than int64, the same digits
        xq = np.asarray(xq).astype(np.int32)
    if not signed:
        shifts = dac_bits * np.arange(math.ceil(bits / dac_bits), dtype=np.int32)
        return ((xq[None] >> shifts.reshape(-1, *[1] * xq.ndim)) & mask).astype(np.uint8)
    u = xq & (2 ** bits - 1)
    mag = u & (2 ** (bits - 1) - 1)
    shifts = dac_bits * np.arange(math.ceil((bits - 1) / dac_bits), dtype=np.int32)
    planes = ((mag[None] >> shifts.reshape(-1, *[1] * xq.ndim)) & mask).astype(np.uint8)
    return np.concatenate([planes, ((u >> (bits - 1)) & 1).astype(np.uint8)[None]])


def input_planes_reference(xq, perm, bits: int, signed: bool, dac_bits: int) -> np.ndarray:
    """``xq`` (L, R, K_in) -> digits (L, P, R, len(perm)) uint8, columns ``xq[..., perm]``."""
    return np.ascontiguousarray(np.moveaxis(input_digits_reference(xq[..., perm], bits, signed, dac_bits), 0, 1))


@kernel(reference=input_planes_reference, parallel=True)
def _input_planes(xq, perm, bits, signed, dac_bits, out):
    L, R = xq.shape[0], xq.shape[1]
    P, K = out.shape[1], perm.shape[0]
    mask = (np.int64(1) << dac_bits) - 1
    low = (np.int64(1) << bits) - 1
    for lr in prange(L * R):
        l, r = lr // R, lr % R
        for j in range(K):
            v = np.int64(xq[l, r, perm[j]])
            if signed:
                u = v & low
                mag = u & (low >> 1)
                for p in range(P - 1):
                    out[l, p, r, j] = (mag >> (dac_bits * p)) & mask
                out[l, P - 1, r, j] = (u >> (bits - 1)) & 1
            else:
                for p in range(P):
                    out[l, p, r, j] = (v >> (dac_bits * p)) & mask


def input_planes(xq, perm, bits: int, signed: bool, dac_bits: int, backend: str = "numba") -> np.ndarray:
    """Public entry (see :func:`input_planes_reference`)."""
    check_backend(backend)
    xq = np.asarray(xq)
    if xq.ndim != 3:
        raise ValueError(f"xq must be (operands, rows, columns), got shape {xq.shape}")
    if not 1 <= bits <= 62 or dac_bits < 1:
        raise ValueError(f"input bits must be 1-62 and DAC bits >= 1, got {bits} and {dac_bits}")
    perm = np.ascontiguousarray(perm, dtype=np.int64)
    if backend == "reference":
        return input_planes_reference(xq, perm, bits, signed, dac_bits)
    P = len(plane_weights(bits, signed, dac_bits))
    out = np.empty((xq.shape[0], P, xq.shape[1], perm.shape[0]), dtype=np.uint8)
    _input_planes(np.ascontiguousarray(xq, dtype=np.int64), perm, np.int64(bits), bool(signed), np.int64(dac_bits), out)
    return out
