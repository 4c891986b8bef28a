"""What quantisation adds to a GEMM op beyond its MACs: the scale / zero-point bits of a
quantised stationary operand, and the dequantisation arithmetic. Shared by the hardware models
(no prices here: the models count, the tables price).

A GEMM of ``M`` input rows, reduction ``K`` and ``N`` outputs (per group, ``groups`` groups,
``T`` timesteps) whose weight is quantised with ``G`` quantisation groups along each output's
reduction (``G = ceil(K / group_size)`` for group quantisation, else 1) is computed in the
factored form an integer datapath uses (the array multiplies the raw codes; nothing is
dequantised weight by weight):

    y[m, n] = sum_g s_w[n, g] * (sum_{k in g} q_w[n, k] x[m, k] - z_w[n, g] * sum_{k in g} x[m, k])

which costs, per op and per timestep:

======================  ================================================================
``scale_mul``           ``M N G``: one multiply of each group's partial sum by its scale
``group_accumulate``    ``M N (G - 1)``: adding the scaled group sums (none when G = 1)
``zero_point_mul``      ``M N G`` when the weight is asymmetric: the ``z_w * sum x`` term
``input_group_sum``     ``M K`` when the weight is asymmetric: the per-group sums of the inputs,
                        shared by all ``N`` outputs
``act_scale_mul``       ``M N`` when the input is quantised (per token or per tensor): the
                        product by the input's scale
``act_zero_point_mul``  ``M N`` when the input is asymmetric: its zero point times the row sums
                        of the codes (stored with the weights, ``sum_k q_w[n, k]``)
======================  ================================================================

The row sums of the weight codes for asymmetric inputs are counted in :func:`metadata_bits` as
one extra ``scale_bits``-wide value per output row.
"""
from __future__ import annotations

from archsim.trace.quant import metadata_bits as operand_metadata_bits
from archsim.trace.quant import reduction_groups

DEQUANT_ACTIONS = ("scale_mul", "group_accumulate", "zero_point_mul", "input_group_sum", "act_scale_mul",
                   "act_zero_point_mul")


def gemm_operands(op):
    """(input, stationary operand) of a GEMM op, None where the trace does not describe them."""
    a_name, b_name = ("a", "b") if op.kind == "matmul" else ("input", "weight")
    return (op.operand(a_name) if op.has_operand(a_name) else None,
            op.operand(b_name) if op.has_operand(b_name) else None)


def metadata_bits(op) -> int:
    """Bits of quantisation metadata the op's stationary operand brings with it (per group of
    the op and timestep-independent): scales and zero points, plus the code row sums when the
    input has a zero point."""
    a, w = gemm_operands(op)
    if w is None or w.quant is None:
        return 0
    bits = operand_metadata_bits(w)
    if a is not None and a.quant is not None and not a.quant.symmetric:
        bits += w.shape[0] * w.quant.scale_bits
    return bits


def dequant_ops(op) -> dict[str, float]:
    """Dequantisation operations of a GEMM op over all its groups and timesteps (see the module
    docstring); empty when neither operand is quantised."""
    a, w = gemm_operands(op)
    g = op.gemm
    out = {}
    M, K, N, T = g.M * g.groups, g.K, g.N, op.timesteps
    if w is not None and w.quant is not None:
        G = reduction_groups(w)
        out["scale_mul"] = M * N * G * T
        if G > 1:
            out["group_accumulate"] = M * N * (G - 1) * T
        if not w.quant.symmetric:
            out["zero_point_mul"] = M * N * G * T
            out["input_group_sum"] = M * K * T
    if a is not None and a.quant is not None:
        out["act_scale_mul"] = M * N * T
        if not a.quant.symmetric:
            out["act_zero_point_mul"] = M * N * T
    return {k: float(v) for k, v in out.items()}


def total_dequant_ops(op) -> float:
    return sum(dequant_ops(op).values())
