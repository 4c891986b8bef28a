"""Operation counts of a vector/digital unit for non-GEMM ops (LIF, softmax, LayerNorm, ...),
shared by every hardware model that has such a unit.

``OpsPerElement`` is the pydantic field type of a model's ``ops_per_element`` parameter: a map
op kind -> operations per output element and timestep, merged over the assumed defaults below,
with unknown kinds rejected.
"""
from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, Field

from archsim.trace.schema import OP_KINDS

DEFAULT_OPS_PER_ELEMENT = {
    # assumed operation counts per output element; override per design in params.ops_per_element
    "lif": 3.0,        # leak multiply, add input, compare with threshold (reset folded in)
    "softmax": 5.0,    # max, subtract, exp, sum, divide
    "layernorm": 5.0,  # sum, square-sum, subtract, multiply, scale/shift
    "gelu": 8.0,       # tanh approximation
    "silu": 4.0,       # exp, add, divide, multiply
    "add": 1.0,
    "concat": 0.0,     # data movement only
    "pool": 1.0,       # per window element: multiplied by the window size
    "elementwise": 1.0,  # multiplied by the op's own ops_per_element
}


def _merge(value: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(value) - set(OP_KINDS))
    if unknown:
        raise ValueError(f"unknown op kind(s) {unknown}; op kinds are {list(OP_KINDS)}")
    return {**DEFAULT_OPS_PER_ELEMENT, **value}


OpsPerElement = Annotated[dict[str, Annotated[float, Field(ge=0)]], AfterValidator(_merge)]


def default_ops_per_element() -> dict[str, float]:
    return dict(DEFAULT_OPS_PER_ELEMENT)


def vector_ops(op, ops_per_element: dict[str, float]) -> float:
    """Operations of ``op`` over all its timesteps: ``elements * T * ops_per_element[kind]``, with
    a pool's window size and an elementwise op's own ``ops_per_element`` as factors."""
    per = ops_per_element[op.kind]
    if op.kind == "pool":
        per *= op.kernel_h * op.kernel_w
    if op.kind == "elementwise":
        per *= op.ops_per_element
    return op.elements * op.timesteps * per


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
