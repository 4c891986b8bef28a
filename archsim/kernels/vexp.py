"""exp over an array in a form LLVM vectorises: the kernels' scalar ``math.exp`` calls libm once per
element (this Numba build has no SVML), which cost more than the rest of the drift kernel.

For ``x`` in ``[EXP_LO, EXP_HI]``: ``x = k ln2 + r`` with ``k = floor(x / ln2 + 1/2)`` and ``|r| <=
ln2 / 2`` (Cody & Waite's two-part ln2, so ``r`` is exact to about 2^-60), ``exp(r)`` by its Taylor
series to ``r^13`` (truncation below 1e-17 relative) and ``2^k`` made from its exponent bits; a
few units in the last place from numpy's ``exp``. Outside that range (underflow to subnormals
or zero, overflow, NaN) the element is redone by scalar ``np.exp``, outside the vectorised loop.
"""
from __future__ import annotations

import math

import numpy as np

from archsim.kernels._jit import kernel

EXP_LO, EXP_HI = -708.0, 709.0     # 2^k stays a normal double for k in [-1021, 1023]
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # ln 2 split in two (fdlibm's constants): k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_C_DESC = tuple(1.0 / math.factorial(n) for n in range(13, -1, -1))   # Taylor coefficients of exp, 1/n!, n = 13..0


def exp_array_reference(x, out, bits):
    """``out[:n] = exp(x[:n])`` (``bits``: scratch of the kernel, unused here)."""
    n = x.shape[0]
    out[:n] = np.exp(x[:n])


@kernel(reference=exp_array_reference, inline="always")
def exp_array(x, out, bits):
    """``out[:n] = exp(x[:n])`` with ``n = len(x)``; ``bits``: int64 scratch of at least ``n``
    (holds each 2^k's bit pattern, then read back as float64)."""
    n = x.shape[0]
    rare = False
    for i in range(n):        # branch-free: vectorised
        v = x[i]
        rare |= not (EXP_LO <= v <= EXP_HI)
        v = v if v >= EXP_LO else EXP_LO      # NaN too: redone below
        v = v if v <= EXP_HI else EXP_HI
        k = math.floor(v * _LOG2E + 0.5)
        r = (v - k * _LN2_HI) - k * _LN2_LO
        p = _C_DESC[0]
        for c in _C_DESC[1:]:     # Horner; a constant-length tuple, unrolled by LLVM
            p = p * r + c
        out[i] = p
        bits[i] = (np.int64(k) + 1023) << 52
    scale = bits[:n].view(np.float64)
    for i in range(n):
        out[i] *= scale[i]
    if rare:
        for i in range(n):
            if not (EXP_LO <= x[i] <= EXP_HI):
                out[i] = np.exp(x[i])     # numpy: inf on overflow, also with the JIT off
