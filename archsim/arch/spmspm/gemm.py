"""The GEMM view of an SNN layer. A conv/linear/matmul op becomes, per group, spike words ``[M, K]`` (bit t =
input neuron fired at timestep t; im2col for convolutions) times weights ``B [K, N]``. An
operand that is not a spike (multi-bit activations, e.g. the analog encoding layer) gets words
whose bit t says "nonzero at t"; such a layer cannot use temporal packing and runs one
timestep plane at a time. A matmul whose B operand varies with t runs one view per timestep."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.arch.base import OpContext
from archsim.errors import TraceError
from archsim.trace.im2col import im2col
from archsim.trace.packing import pack_spikes
from archsim.trace.schema import GEMM_KINDS, Role


@dataclass
class GemmView:
    """One product: ``words [M, K]`` (bit t = input nonzero at timestep t) times ``weights [K, N]``."""

    words: np.ndarray
    weights: np.ndarray
    timesteps: int
    spike_input: bool          # False: multi-bit activations (each match is a multiply)
    weight_bits: int
    input_bits: int            # bits of one input value (1 for spikes)
    spike_weights: bool = False  # B is packed spike words too (spike x spike: AND and popcount)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.words.shape[0], self.weights.shape[1], self.words.shape[1]


def _operand_names(op) -> tuple[str, str]:
    return ("a", "b") if op.kind == "matmul" else ("input", "weight")


def _as_words(tensor: np.ndarray, operand, T: int) -> np.ndarray:
    """Per-neuron words of an operand tensor: spikes packed; other tensors' nonzero pattern."""
    if operand.role == Role.spike:
        return pack_spikes(tensor)
    if T > 1 and tensor.shape[0] == T and tensor.ndim == len(operand.shape) + 1:
        return pack_spikes((tensor != 0).astype(np.uint8))
    return pack_spikes((tensor != 0).astype(np.uint8)[None].repeat(T, axis=0))


def gemm_views(op, ctx: OpContext, weight_bits: int | None, pack_spike_b: bool = False) -> list[GemmView]:
    """The GEMM views of a conv2d / linear / matmul op (one per group or batch entry).

    A matmul whose ``a`` and ``b`` are both spikes: with ``pack_spike_b`` (a temporal-parallel
    engine) B becomes packed words too (``spike_weights``, ``weight_bits`` = the word's T bits),
    one view per batch entry; otherwise one single-timestep view per t with B's 0/1 plane as
    1-bit weights."""
    a_name, b_name = _operand_names(op)
    if not (op.has_operand(a_name) and op.has_operand(b_name)):
        raise TraceError(f"op {op.id}: a dual-sparse model needs operands '{a_name}' and '{b_name}' "
                         f"with statistics or tensors")
    a_op, b_op = op.operand(a_name), op.operand(b_name)
    T = op.timesteps
    a = ctx.tensor(op, a_op)
    b = np.asarray(ctx.tensor(op, b_op))
    words = _as_words(np.asarray(a), a_op, T)
    spike_input = a_op.role == Role.spike
    spike_b = b_op.role == Role.spike
    bits = 1 if spike_b else (weight_bits or b_op.bits)
    in_bits = a_op.bits
    g = op.gemm
    if op.kind == "conv2d":
        cols = im2col(words, op)                                    # [groups, M, K]
        w = b.reshape(op.out_channels, -1)                          # [O, C/g*kh*kw]
        return [GemmView(cols[i], np.ascontiguousarray(w[i * g.N:(i + 1) * g.N].T), T, spike_input, bits,
                         in_bits)
                for i in range(g.groups)]
    if op.kind == "linear":
        return [GemmView(words.reshape(g.M, g.K), np.ascontiguousarray(b.reshape(g.N, g.K).T), T,
                         spike_input, bits, in_bits)]
    # matmul: a [..., M, K] words; b [batch, K, N], or [T, batch, K, N] when it varies with t
    a_words = words.reshape(g.groups, g.M, g.K)
    if spike_input and spike_b and pack_spike_b:
        b_words = pack_spikes(b).reshape(g.groups, g.K, g.N)
        return [GemmView(a_words[i], b_words[i], T, True, T, 1, spike_weights=True) for i in range(g.groups)]
    varies = b_op.role in (Role.spike, Role.activation) and T > 1 and b.ndim == len(b_op.shape) + 1
    if not varies:
        b = b.reshape(g.groups, g.K, g.N)
        return [GemmView(a_words[i], b[i], T, spike_input, bits, in_bits) for i in range(g.groups)]
    b = b.reshape(T, g.groups, g.K, g.N)
    views = []
    for t in range(T):   # B changes every timestep: one single-timestep product per t
        plane = ((a_words >> a_words.dtype.type(t)) & a_words.dtype.type(1)).astype(np.uint8)
        views += [GemmView(plane[i], b[t, i], 1, spike_input, bits, in_bits) for i in range(g.groups)]
    return views


def timestep_planes(words: np.ndarray, timesteps: int) -> np.ndarray:
    """``[M, K]`` words -> ``[T, M, K]`` 0/1 planes (bit t of each word)."""
    one = words.dtype.type(1)
    return np.stack([((words >> words.dtype.type(t)) & one).astype(np.uint8) for t in range(timesteps)])


def is_gemm(op) -> bool:
    return op.kind in GEMM_KINDS
