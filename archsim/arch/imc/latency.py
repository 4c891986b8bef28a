"""Whole-network latency from per-op cycles and the layer graph.

Every op ``j`` with duration ``d_j`` (its cycles) gets a start ``s_j`` and an end ``e_j``:

* ``e_j = max(s_j + d_j, max_i e_i)`` over its producers ``i``: an op cannot finish before the
  data it consumes has all arrived.
* **pipelined**: a crossbar layer starts once every producer has done ``start_fraction`` of its
  span, ``s_j = max_i (s_i + f (e_i - s_i))`` (SpikeSim's ELA uses f = 0.75). Streaming ops
  (LIF neurons, the digital units, pooling, additions) run alongside their producer:
  ``s_j = max_i s_i``, so a LIF layer that is slower than its crossbars sets the pace of the
  stage. A matmul whose stationary operand is written at run time waits for the whole operand
  (f = 1): K^T and V can only be written once they are complete.
* **layer_by_layer**: a crossbar layer starts when its producers have finished,
  ``s_j = max_i e_i``; streaming ops still run alongside their producer.

The latency is ``max_j e_j``.
"""
from __future__ import annotations

from archsim.arch.imc.mapping import is_dynamic
from archsim.trace.schema import GEMM_KINDS


def schedule(ops, cycles: dict[str, float], mode: str, start_fraction: float) -> dict[str, tuple[float, float]]:
    """op id -> (start, end) in cycles; ``ops`` in topological order."""
    times: dict[str, tuple[float, float]] = {}
    for op in ops:
        d = cycles[op.id]
        prods = [times[i] for i in op.inputs]
        if not prods:
            start = 0.0
        elif op.kind in GEMM_KINDS:
            f = 1.0 if (mode == "layer_by_layer" or is_dynamic(op)) else start_fraction
            start = max(s + f * (e - s) for s, e in prods)
        else:
            start = max(s for s, _ in prods)
        end = max([start + d, *(e for _, e in prods)])
        times[op.id] = (start, end)
    return times


def total_cycles(ops, cycles: dict[str, float], mode: str, start_fraction: float) -> float:
    times = schedule(ops, cycles, mode, start_fraction)
    return max((e for _, e in times.values()), default=0.0)
