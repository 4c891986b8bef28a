"""A vector unit for the non-GEMM ops (LIF, softmax, layernorm, activations, pooling, adds), shared
by the models that place one beside their array (``mac_array``, ``systolic``).

The unit has ``lanes`` lanes, each doing one operation per cycle; an op costs
``elements * timesteps * ops_per_element`` operations. The operations per output element of each
op kind are assumed counts (a parameter of the models, defaults below).
"""
from __future__ import annotations

import math

from archsim.trace.schema import OP_KINDS

DEFAULT_OPS_PER_ELEMENT = {
    # assumed operation counts of a vector unit per output element; override in params
    "lif": 3.0,        # leak multiply, add input, compare with threshold (reset folded in)
    "softmax": 5.0,    # max, subtract, exp, sum, divide
    "layernorm": 5.0,  # sum, square-sum, subtract, multiply, scale/shift
    "gelu": 8.0,       # tanh approximation
    "silu": 4.0,       # exp, add, divide, multiply
    "add": 1.0,
    "concat": 0.0,     # data movement only
    "pool": 1.0,       # per window element: multiplied by the window size below
    "elementwise": 1.0,  # multiplied by the op's own ops_per_element
}


def merge_ops_per_element(value: dict[str, float]) -> dict[str, float]:
    """Validate user overrides of :data:`DEFAULT_OPS_PER_ELEMENT` (for a pydantic validator)."""
    unknown = sorted(set(value) - set(OP_KINDS))
    if unknown:
        raise ValueError(f"unknown op kind(s) {unknown}; op kinds are {list(OP_KINDS)}")
    return {**DEFAULT_OPS_PER_ELEMENT, **value}


def vector_ops(op, ops_per_element: dict[str, float]) -> float:
    """Operations of a non-GEMM op over all its timesteps."""
    per_elem = ops_per_element[op.kind]
    if op.kind == "pool":
        per_elem *= op.kernel_h * op.kernel_w
    if op.kind == "elementwise":
        per_elem *= op.ops_per_element
    return op.elements * op.timesteps * per_elem


def vector_cycles(ops: float, lanes: int) -> int:
    return math.ceil(ops / lanes)


def vector_io_bits(op, default_bits: int) -> tuple[float, float]:
    """(bits read, bits written) of a non-GEMM op over all timesteps: its described operands and
    output, or ``elements * default_bits`` each when the trace does not describe them."""
    T = op.timesteps
    if op.operands:
        read = sum(o.numel * o.bits for o in op.operands) * T
    else:
        read = op.elements * default_bits * T
    written = (op.output.numel * op.output.bits if op.output is not None else op.elements * default_bits) * T
    return read, written
