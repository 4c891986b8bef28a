"""A small layer-by-layer builder for shape-only traces of CNNs, SNNs and transformers: it tracks
the shape, the producer, the role (spike or multi-bit activation), the bit width and the density
of the tensor flowing between ops, so that the network generators read like the networks.

    net = ShapeNet(header, weight_bits=8)
    x = net.input([3, 32, 32], bits=8)
    x = net.conv("conv1", x, 64, 3)                  # activation in, activation out
    s = net.lif("lif1", x, density=0.15)             # spikes (1 bit, the given density)
    y = net.conv("conv2", s, 64, 3)                  # a spike-input conv: accumulate only
    trace = net.build()

Spike operands carry their density (a shape-only trace has no tensors: a cycle-level model draws
synthetic spikes from it); weights are dense ``weight_bits`` integers unless a density is given.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.schema import DType, Header, Operand, Role, Sparsity, window_out


@dataclass(frozen=True)
class Act:
    """A tensor between ops: ``shape`` per sample and timestep ([C, H, W] or [tokens, features])."""

    op: str | None          # producer op id (None: the network input)
    shape: tuple[int, ...]
    role: Role = Role.activation
    bits: int = 8
    density: float = 1.0
    timesteps: int = 1

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


class ShapeNet:
    def __init__(self, header: Header, *, weight_bits: int = 8, out_bits: int = 8, batch: int = 1):
        self.b = TraceBuilder(header)
        self.T = header.timesteps
        self.weight_bits, self.out_bits, self.batch = weight_bits, out_bits, batch
        self.params = 0          # weights of every GEMM op with a static weight (no BN, no bias)

    # --- operands -----------------------------------------------------------------------------
    def operand(self, name: str, x: Act, shape: list[int] | None = None) -> Operand:
        shape = shape or [self.batch, *x.shape]
        if x.role == Role.spike:
            return self.b.operand(name, Role.spike, shape=shape, sparsity=Sparsity(density=x.density))
        sparsity = Sparsity(density=x.density) if x.density < 1 else None
        return self.b.operand(name, x.role, shape=shape, bits=x.bits,
                              dtype=DType.int if x.role != Role.dynamic_weight else DType.uint,
                              sparsity=sparsity)

    def _weight(self, shape: list[int], density: float | None = None, counted: bool = True) -> Operand:
        self.params += math.prod(shape) if counted else 0
        return self.b.operand("weight", Role.static_weight, shape=shape, bits=self.weight_bits, dtype=DType.int,
                              sparsity=Sparsity(density=density) if density is not None else None)

    def _output(self, shape: tuple[int, ...], bits: int) -> Operand:
        return self.b.operand("output", Role.activation, shape=[self.batch, *shape], bits=bits, dtype=DType.int)

    @staticmethod
    def _inputs(*acts: Act) -> list[str]:
        return list(dict.fromkeys(a.op for a in acts if a is not None and a.op is not None))

    # --- layers --------------------------------------------------------------------------------
    def input(self, shape: list[int], *, bits: int = 8, role: Role = Role.activation, density: float = 1.0,
              timesteps: int | None = None) -> Act:
        return Act(None, tuple(shape), role, 1 if role == Role.spike else bits, density,
                   timesteps or self.T)

    def conv(self, op_id: str, x: Act, out_ch: int, kh: int, kw: int | None = None, *, stride: int = 1,
             pad: tuple[int, int] | int | None = None, groups: int = 1, timesteps: int | None = None,
             out_bits: int | None = None, weight_density: float | None = None, tags: dict | None = None,
             extra_inputs: tuple[Act, ...] = (), shared_weight: bool = False) -> Act:
        """``shared_weight``: the weight is another op's (not counted again in ``params``)."""
        kw = kh if kw is None else kw
        ph, pw = ((kh - 1) // 2, (kw - 1) // 2) if pad is None else ((pad, pad) if isinstance(pad, int) else pad)
        C, H, W = x.shape
        T = timesteps or x.timesteps
        bits = out_bits or self.out_bits
        oh, ow = window_out(H, kh, stride, ph), window_out(W, kw, stride, pw)
        self.b.add("conv2d", op_id, inputs=self._inputs(x, *extra_inputs), timesteps=T,
                   operands=[self.operand("input", x),
                             self._weight([out_ch, C // groups, kh, kw], weight_density, counted=not shared_weight)],
                   output=self._output((out_ch, oh, ow), bits), batch=self.batch, in_channels=C,
                   out_channels=out_ch, in_h=H, in_w=W, kernel_h=kh, kernel_w=kw, stride_h=stride, stride_w=stride,
                   pad_h=ph, pad_w=pw, groups=groups, tags=dict(tags or {}))
        return Act(op_id, (out_ch, oh, ow), Role.activation, bits, 1.0, T)

    def linear(self, op_id: str, x: Act, out_features: int, *, timesteps: int | None = None,
               out_bits: int | None = None, tags: dict | None = None) -> Act:
        tokens, k = math.prod(x.shape[:-1]), x.shape[-1]
        T = timesteps or x.timesteps
        bits = out_bits or self.out_bits
        self.b.add("linear", op_id, inputs=self._inputs(x), timesteps=T, tokens=self.batch * tokens,
                   in_features=k, out_features=out_features,
                   operands=[self.operand("input", x), self._weight([out_features, k])],
                   output=self._output((*x.shape[:-1], out_features), bits), tags=dict(tags or {}))
        return Act(op_id, (*x.shape[:-1], out_features), Role.activation, bits, 1.0, T)

    def matmul(self, op_id: str, a: Act, b: Act, *, heads: int, M: int, K: int, N: int,
               timesteps: int | None = None, out_bits: int | None = None, inputs: list[Act] | None = None,
               tags: dict | None = None) -> Act:
        """``heads`` products ``a [M, K] @ b [K, N]``; ``a``'s and ``b``'s roles say what they are
        (spike x spike, spike x dynamic weight, activation x dynamic weight)."""
        T = timesteps or a.timesteps
        bits = out_bits or self.out_bits
        ops = [self.operand("a", a, [self.batch * heads, M, K]), self.operand("b", b, [self.batch * heads, K, N])]
        self.b.add("matmul", op_id, inputs=self._inputs(*(inputs or [a, b])), timesteps=T,
                   batch=self.batch * heads, M=M, K=K, N=N, operands=ops,
                   output=self._output((heads, M, N), bits), tags=dict(tags or {}))
        return Act(op_id, (heads, M, N), Role.activation, bits, 1.0, T)

    def lif(self, op_id: str, x: Act, *, density: float, threshold: float = 1.0, leak: float = 0.5,
            reset: str = "hard", timesteps: int | None = None, inputs: list[Act] | None = None,
            tags: dict | None = None) -> Act:
        T = timesteps or x.timesteps
        out = Act(op_id, x.shape, Role.spike, 1, density, T)
        self.b.add("lif", op_id, inputs=self._inputs(*(inputs or [x])), timesteps=T, neurons=self.batch * x.numel,
                   threshold=threshold, leak=leak, reset=reset,
                   output=self.operand("output", out), tags=dict(tags or {}))
        return out

    def pool(self, op_id: str, x: Act, k: int, *, stride: int | None = None, pad: int = 0, mode: str = "max",
             tags: dict | None = None) -> Act:
        C, H, W = x.shape
        s = stride or k
        oh, ow = window_out(H, k, s, pad), window_out(W, k, s, pad)
        out = replace(x, op=op_id, shape=(C, oh, ow))
        if mode == "avg":
            out = replace(out, role=Role.activation, bits=max(x.bits, 8), density=1.0)
        self.b.add("pool", op_id, inputs=self._inputs(x), timesteps=x.timesteps, mode=mode, batch=self.batch,
                   channels=C, in_h=H, in_w=W, kernel_h=k, kernel_w=k, stride_h=s, stride_w=s, pad_h=pad, pad_w=pad,
                   operands=[self.operand("input", x)], output=self.operand("output", out), tags=dict(tags or {}))
        return out

    def add(self, op_id: str, a: Act, b: Act, *, timesteps: int | None = None, inputs: list[Act] | None = None,
            tags: dict | None = None) -> Act:
        T = timesteps or max(a.timesteps, b.timesteps)
        bits = max(a.bits, b.bits, self.out_bits)
        out = Act(op_id, a.shape, Role.activation, bits, 1.0, T)
        self.b.add("add", op_id, inputs=self._inputs(*(inputs or [a, b])), timesteps=T, elements=self.batch * a.numel,
                   output=self._output(a.shape, bits), tags=dict(tags or {}))
        return out

    def vector(self, kind: str, op_id: str, x: Act, *, inputs: list[Act] | None = None, out_shape=None,
               timesteps: int | None = None, tags: dict | None = None, **fields) -> Act:
        """A non-GEMM op on ``x`` (layernorm, softmax, gelu, elementwise): rows x cols for the
        row-wise kinds (last axis = cols), elements otherwise."""
        T = timesteps or x.timesteps
        shape = tuple(out_shape or x.shape)
        if kind in ("layernorm", "softmax"):
            fields.setdefault("rows", self.batch * math.prod(x.shape[:-1]))
            fields.setdefault("cols", x.shape[-1])
        else:
            fields.setdefault("elements", self.batch * math.prod(shape))
        self.b.add(kind, op_id, inputs=self._inputs(*(inputs or [x])), timesteps=T, tags=dict(tags or {}), **fields)
        return Act(op_id, shape, Role.activation, max(x.bits, self.out_bits), 1.0, T)

    def build(self, metrics: dict[str, float] | None = None) -> Trace:
        """The trace; ``metrics`` (e.g. parameter counts) go into the header's ``metrics``."""
        trace = self.b.build()
        if metrics:
            header = trace.header.model_copy(update={"metrics": {**trace.header.metrics, **metrics}})
            trace = Trace(trace.manifest.model_copy(update={"header": header}), arrays=self.b.arrays)
        return trace
