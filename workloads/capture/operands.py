"""The operands the trace writer (:mod:`workloads.capture.build`) gives a layer: a weight stored as
per-output-channel integers, and a tensor seen over the timesteps as spikes or as activations."""
from __future__ import annotations

import numpy as np

from archsim.trace.builder import TraceBuilder
from archsim.trace.quant import quantize_weight
from archsim.trace.schema import Quant, Role


def weight_operand(b: TraceBuilder, w: np.ndarray, bits: int | None):
    """A layer's weight: stored as symmetric per-output-channel integers of ``bits`` (nonzero
    weights never round to zero, so a pruning mask stays exact); None: float32."""
    w = np.asarray(w, dtype=np.float32)
    if bits:
        return b.operand("weight", Role.static_weight, data=quantize_weight(w, bits), bits=bits,
                         quant=Quant(granularity="channel", symmetric=True))
    return b.operand("weight", Role.static_weight, data=w, bits=32)


def tensor_operand(b: TraceBuilder, name: str, data: np.ndarray, *, spikes: bool, bits: int, store: bool):
    """A tensor over the timesteps (``data [T, ...]``): a spike operand (bit-packed; stored when
    ``store``) when it may hold spikes (``spikes``: a neuron's output, or the input of a spiking
    network) and every value is 0 or 1; else an activation of ``bits`` described, not stored."""
    T = data.shape[0]
    if spikes and bool(((data == 0) | (data == 1)).all()):
        return b.operand(name, Role.spike, data=data.astype(np.uint8), store=store)
    return b.operand(name, Role.activation, data=data if T > 1 else data[0], store=False, bits=bits, timesteps=T)
