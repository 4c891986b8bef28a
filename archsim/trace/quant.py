"""What a quantised operand costs to store and to dequantise, from its ``quant`` spec alone.

An operand quantised with ``granularity`` g has one scale (``scale_bits``) and, when asymmetric,
one integer zero point (``zero_point_bits``) per *quantisation group*:

========== ========================================================================
tensor      1
channel     one per output row: ``shape[0]`` (the N rows of an ``[N, K]`` weight)
group       one per ``group_size`` elements along the reduction (last) axis of each
            row: ``rows * ceil(K / group_size)`` with ``K`` the product of the axes after
            the first (a conv weight ``[C_out, C_in, kh, kw]`` groups ``C_in*kh*kw``)
token       one per token (row of an activation ``[..., features]``): ``numel / shape[-1]``
========== ========================================================================

Hardware models charge these bits as traffic and the dequantisation arithmetic as operations;
:func:`archsim.generators.shapes.llm.weight_footprint_bytes` adds them to a model's footprint.
"""
from __future__ import annotations

import math

from archsim.trace.schema import Granularity, Operand


def quant_groups(operand: Operand) -> int:
    """Number of (scale, zero point) pairs the operand carries; 0 when it is not quantised."""
    q = operand.quant
    if q is None:
        return 0
    shape = operand.shape
    if q.granularity == Granularity.tensor:
        return 1
    if q.granularity == Granularity.token:
        return operand.numel // shape[-1]
    rows = shape[0]
    if q.granularity == Granularity.channel:
        return rows
    k = operand.numel // rows
    return rows * math.ceil(k / q.group_size)


def metadata_bits(operand: Operand) -> int:
    """Bits of the scales and zero points the operand carries (0 when not quantised)."""
    q = operand.quant
    if q is None:
        return 0
    per_group = q.scale_bits + (0 if q.symmetric else q.zero_point_bits)
    return quant_groups(operand) * per_group


def stored_bits(operand: Operand) -> int:
    """Bits to store the operand: its elements at ``bits`` each plus its quantisation metadata."""
    return operand.numel * operand.bits + metadata_bits(operand)


def reduction_groups(operand: Operand) -> int:
    """Quantisation groups along one row's reduction axis: ``ceil(K / group_size)`` for group
    quantisation, else 1 (a per-channel or per-tensor scale applies to the whole dot product)."""
    q = operand.quant
    if q is None or q.granularity != Granularity.group:
        return 1
    k = operand.numel // operand.shape[0]
    return math.ceil(k / q.group_size)


def quantize_weight(w, bits: int):
    """Symmetric per-output-channel integers of ``bits`` bits (numpy). A nonzero weight never
    becomes 0, so a pruning mask survives exactly; the trace's weight statistics (density, per-row
    and per-column nonzeros) are those of the real weight."""
    import numpy as np

    w = np.asarray(w, dtype=np.float32)
    qmax = 2 ** (bits - 1) - 1
    flat = w.reshape(w.shape[0], -1) if w.ndim else w.reshape(1, 1)
    scale = np.abs(flat).max(axis=1, keepdims=True) / qmax
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(flat / scale), -qmax, qmax)
    q = np.where((q == 0) & (flat != 0), np.sign(flat), q)
    dtype = np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32
    return q.astype(dtype).reshape(w.shape)
