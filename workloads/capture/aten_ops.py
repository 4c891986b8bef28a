"""The op mapping table: aten op -> trace op (kind, loop bounds, operands).

Each handler receives a :class:`View` of one captured layer (one call site, over its timesteps)
and returns :class:`Emit` s; shapes are per timestep. An op with no handler, no ``pointwise`` /
``reduction`` tag and no decomposition becomes an ``unmodelled`` trace op carrying its MACs
(from ``torch.utils.flop_counter``'s formulas when it has one), and the export warns.

| aten op | trace op |
|---|---|
| ``convolution`` (2-D; 1-D as H = 1; any groups, stride, padding, dilation) | ``conv2d`` |
| ``mm`` / ``addmm`` with a parameter operand | ``linear`` (weight = the parameter) |
| ``mm`` / ``addmm`` / ``bmm`` / ``baddbmm`` between run-time tensors | ``matmul`` |
| ``_softmax``, ``_log_softmax`` | ``softmax`` |
| ``native_layer_norm``, ``native_group_norm``, ``_fused_rms_norm`` | ``layernorm`` (layer / group / rms) |
| batch norm (inference) | ``elementwise`` ``batch_norm`` (2 ops per element: scale, shift) |
| max / avg / adaptive pooling | ``pool`` |
| ``cat`` (``stack``) | ``concat`` (zero MACs) |
| ``add`` / ``sub`` of two tensors | ``add`` |
| ``gelu``, ``silu`` | ``gelu``, ``silu`` |
| any other op tagged ``pointwise`` (relu, mul, sigmoid, where...) | ``elementwise`` (function = op name) |
| any op tagged ``reduction`` (mean, sum, amax, var_mean...) | ``elementwise`` over its input elements, tag ``reduction`` |
| upsampling | ``elementwise`` ``upsample_*`` |
| views, reshapes, permutes, copies, slicing, padding, roll, indexing | no op: the consumer's edge goes to the producer |

Convolution and linear biases are not separate ops (the accumulator
starts from the bias); FlopCounterMode does not count them either.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from workloads.capture.nodes import Arg, Node, TInfo


@dataclass
class Operand:
    """One tensor of a layer, per timestep: ``data`` is ``[T, *shape]`` (activations) or the
    weight itself (``weight``); in a per-sample capture (``workloads.trace(per_sample=True)``)
    ``shape`` is one sample's and ``data`` ``[samples, *shape]``. ``spec``: the operand described
    by the caller instead (keyword arguments of :meth:`archsim.trace.builder.TraceBuilder.operand`;
    :mod:`workloads.capture.rules`)."""

    data: np.ndarray | None
    shape: list[int]
    info: TInfo
    weight: bool = False
    spec: dict[str, Any] | None = None

    @classmethod
    def described(cls, **spec: Any) -> "Operand":
        """An operand its caller describes itself (``spec``: ``TraceBuilder.operand``'s arguments)."""
        shape = spec.get("shape")
        if shape is None and spec.get("data") is not None:
            shape = list(np.shape(spec["data"]))
        return cls(None, list(shape or []), TInfo(), spec=spec)


@dataclass
class Emit:
    """One trace op a layer becomes. A module rule may also say (defaults in brackets): ``id``, the
    op's whole id (the capture's, from the module path), e.g. to name ops after a reference trace;
    ``suffix``, appended to the module's op id instead (none for one op, ``.k`` for the k-th of
    several); its edges, either ``inputs``, op ids written before it, or ``reads``: ``int`` i, the
    producers of the layer's i-th tensor argument, ``str``, the op of an earlier emit of the same
    layer by its suffix (the first op reads every producer of the layer, a later one the op before
    it); ``timesteps`` (the layer's); ``result``, whether the op stands for the layer's output (the
    last op only)."""

    kind: str
    fields: dict[str, Any]
    operands: list[tuple[str, Operand]]
    output: Operand | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    suffix: str | None = None
    inputs: list[str] | None = None
    reads: list[int | str] | None = None
    timesteps: int | None = None
    result: bool | None = None


class View:
    """A captured layer: its first node (arguments) and its tensors per timestep."""

    def __init__(self, node: Node, T: int, operand: Callable[[Arg], Operand]):
        self.node, self.T, self._operand = node, T, operand
        self.args = node.args

    def raw(self, i: int, default=None):
        return self.args[i] if i < len(self.args) and self.args[i] is not None else default

    def t(self, i: int) -> Operand | None:
        a = self.args[i] if i < len(self.args) else None
        return self._operand(a) if isinstance(a, Arg) else None

    def tensors(self) -> list[Operand]:
        return [self._operand(a) for a in self.node.tensor_args]

    @property
    def out(self) -> Operand | None:
        return self._operand(self.node.out[0]) if self.node.out else None


def _prod(s) -> int:
    return int(math.prod(s))


def _reshape(o: Operand, shape: list[int]) -> Operand:
    data = None if o.data is None else (o.data.reshape(shape) if o.weight else o.data.reshape(o.data.shape[0], *shape))
    return Operand(data, list(shape), o.info, o.weight)


def _pair(v, n=2) -> list[int]:
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return [int(x) for x in (v * n if len(v) == 1 else v)]


def conv(v: View) -> list[Emit]:
    x, w, out = v.t(0), v.t(1), v.out
    stride, pad, dil = v.raw(3), v.raw(4), v.raw(5)
    transposed, groups = bool(v.raw(6, False)), int(v.raw(8, 1))
    nd = len(w.shape) - 2
    if transposed or nd not in (1, 2):
        return []   # unmodelled (MACs from the flop counter)
    if nd == 1:     # conv1d as a conv2d of height 1
        x = _reshape(x, [x.shape[0], x.shape[1], 1, x.shape[2]])
        w = _reshape(w, [w.shape[0], w.shape[1], 1, w.shape[2]])
        out = _reshape(out, [out.shape[0], out.shape[1], 1, out.shape[2]])
        stride, pad, dil = [1, *_pair(stride, 1)], [0, *_pair(pad, 1)], [1, *_pair(dil, 1)]
    stride, pad, dil = _pair(stride), _pair(pad), _pair(dil)
    B, C, H, W = x.shape
    return [Emit("conv2d", dict(batch=B, in_channels=C, out_channels=w.shape[0], in_h=H, in_w=W,
                                kernel_h=w.shape[2], kernel_w=w.shape[3], stride_h=stride[0], stride_w=stride[1],
                                pad_h=pad[0], pad_w=pad[1], dilation_h=dil[0], dilation_w=dil[1], groups=groups),
                 [("input", x), ("weight", w)], out)]


def _gemm(v: View, a: Operand, b: Operand, out: Operand, batched: bool) -> list[Emit]:
    if b.weight and not a.weight and not batched:
        wt = b.data.T if b.data is not None else None        # [K, N] -> the [N, K] weight
        weight = Operand(wt, [b.shape[1], b.shape[0]], b.info, True)
        return [Emit("linear", dict(tokens=a.shape[0], in_features=a.shape[1], out_features=b.shape[1]),
                     [("input", a), ("weight", weight)], out)]
    if batched:
        fields = dict(batch=a.shape[0], M=a.shape[1], K=a.shape[2], N=b.shape[2])
    else:
        fields = dict(batch=1, M=a.shape[0], K=a.shape[1], N=b.shape[1])
        a, b = _reshape(a, [1, *a.shape]), _reshape(b, [1, *b.shape])
        out = _reshape(out, [1, *out.shape])
    tags = {"static_operand": "a" if a.weight else "b"} if (a.weight or b.weight) else {}
    return [Emit("matmul", fields, [("a", a), ("b", b)], out, tags)]


def mm(v: View) -> list[Emit]:
    return _gemm(v, v.t(0), v.t(1), v.out, False)


def addmm(v: View) -> list[Emit]:
    return _gemm(v, v.t(1), v.t(2), v.out, False)


def bmm(v: View) -> list[Emit]:
    return _gemm(v, v.t(0), v.t(1), v.out, True)


def baddbmm(v: View) -> list[Emit]:
    return _gemm(v, v.t(1), v.t(2), v.out, True)


def softmax(v: View) -> list[Emit]:
    x, dim = v.t(0), int(v.raw(1, -1))
    cols = x.shape[dim]
    return [Emit("softmax", dict(rows=_prod(x.shape) // cols, cols=cols), [("input", x)], v.out,
                 {"function": v.node.name} if v.node.name != "_softmax" else {})]


def layer_norm(v: View) -> list[Emit]:
    x, normalized = v.t(0), v.raw(1)
    cols = _prod(normalized)
    return [Emit("layernorm", dict(rows=_prod(x.shape) // cols, cols=cols, variant="layer"), [("input", x)], v.out)]


def rms_norm(v: View) -> list[Emit]:
    x, normalized = v.t(0), v.raw(1)
    cols = _prod(normalized)
    return [Emit("layernorm", dict(rows=_prod(x.shape) // cols, cols=cols, variant="rms"), [("input", x)], v.out)]


def group_norm(v: View) -> list[Emit]:
    x, groups = v.t(0), int(v.raw(6))
    rows = x.shape[0] * groups
    return [Emit("layernorm", dict(rows=rows, cols=_prod(x.shape) // rows, variant="group"), [("input", x)], v.out)]


def batch_norm(v: View) -> list[Emit]:
    x = v.t(0)
    return [Emit("elementwise", dict(elements=_prod(x.shape), function="batch_norm", ops_per_element=2.0),
                 [("input", x)], v.out, {"foldable": True})]


def _pool(v: View, mode: str, kernel, stride, pad, ceil: bool = False) -> list[Emit]:
    x, out = v.t(0), v.out
    if len(x.shape) == 3:            # unbatched [C, H, W]
        x, out = _reshape(x, [1, *x.shape]), _reshape(out, [1, *out.shape])
    if len(x.shape) != 4:
        return []
    B, C, H, W = x.shape
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride or kernel)
    ph, pw = _pair(pad)
    fields = dict(mode=mode, batch=B, channels=C, in_h=H, in_w=W, kernel_h=kh, kernel_w=kw, stride_h=sh,
                  stride_w=sw, pad_h=ph, pad_w=pw)
    oh, ow = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    tags = {}
    if [oh, ow] != list(out.shape[-2:]):   # ceil mode / uneven adaptive windows: sizes from the tensor
        tags = {"out_h": out.shape[-2], "out_w": out.shape[-1], "ceil_mode": bool(ceil)}
        out = None
    return [Emit("pool", fields, [("input", x)], out, tags)]


def max_pool(v: View) -> list[Emit]:
    return _pool(v, "max", v.raw(1), v.raw(2, []) or v.raw(1), v.raw(3, 0), bool(v.raw(5, False)))


def avg_pool(v: View) -> list[Emit]:
    return _pool(v, "avg", v.raw(1), v.raw(2, []) or v.raw(1), v.raw(3, 0), bool(v.raw(4, False)))


def adaptive_pool(mode: str):
    def fn(v: View) -> list[Emit]:
        x, out = v.t(0), v.out
        H, W = x.shape[-2:]
        oh, ow = out.shape[-2:]
        if H % oh == 0 and W % ow == 0:
            return _pool(v, mode, [H // oh, W // ow], [H // oh, W // ow], 0)
        return _pool(v, mode, [-(-H // oh), -(-W // ow)], [max(1, H // oh), max(1, W // ow)], 0)
    return fn


def cat(v: View) -> list[Emit]:
    tensors = v.raw(0)
    ops = [(f"in{i}", v._operand(a)) for i, a in enumerate(tensors) if isinstance(a, Arg)]
    return [Emit("concat", dict(elements=_prod(v.out.shape), axis=int(v.raw(1, 0))), ops, v.out)]


def upsample(v: View) -> list[Emit]:
    linear = "linear" in v.node.name or "cubic" in v.node.name
    return [Emit("elementwise", dict(elements=_prod(v.out.shape), function=v.node.name,
                                     ops_per_element=4.0 if linear else 1.0), [("input", v.t(0))], v.out)]


def embedding(v: View) -> list[Emit]:
    return [Emit("elementwise", dict(elements=_prod(v.out.shape), function="embedding_gather"), [], v.out,
                 {"table_rows": v.t(0).shape[0]})]


def pointwise(v: View) -> list[Emit]:
    name = v.node.name
    tensors = [o for o in v.tensors() if _prod(o.shape) > 1 or len(v.tensors()) == 1]
    out = v.out
    if out is None:
        return []
    n = _prod(out.shape)
    if name in ("add", "sub") and len(tensors) == 2:
        return [Emit("add", dict(elements=n), [("a", tensors[0]), ("b", tensors[1])], out,
                     {"function": name} if name != "add" else {})]
    if name in ("gelu", "silu"):
        return [Emit(name, dict(elements=n), [("input", tensors[0])], out)]
    names = ["input"] if len(tensors) == 1 else ["a", "b", "c", "d"][:len(tensors)]
    return [Emit("elementwise", dict(elements=n, function=name), list(zip(names, tensors)), out)]


def reduction(v: View) -> list[Emit]:
    x = v.t(0)
    if x is None:
        return []
    return [Emit("elementwise", dict(elements=max(1, _prod(x.shape)), function=v.node.name), [("input", x)], None,
                 {"reduction": True})]


HANDLERS: dict[str, Callable[[View], list[Emit]]] = {
    "convolution": conv, "_convolution": conv,
    "mm": mm, "addmm": addmm, "bmm": bmm, "baddbmm": baddbmm,
    "_softmax": softmax, "_log_softmax": softmax, "softmax": softmax, "_safe_softmax": softmax,
    "native_layer_norm": layer_norm, "_fused_rms_norm": rms_norm, "native_group_norm": group_norm,
    "_native_batch_norm_legit_no_training": batch_norm, "_native_batch_norm_legit": batch_norm,
    "native_batch_norm": batch_norm, "batch_norm": batch_norm,
    "max_pool2d_with_indices": max_pool, "max_pool2d": max_pool, "avg_pool2d": avg_pool,
    "_adaptive_avg_pool2d": adaptive_pool("avg"), "adaptive_avg_pool2d": adaptive_pool("avg"),
    "adaptive_max_pool2d": adaptive_pool("max"),
    "cat": cat, "stack": cat,
    "upsample_nearest2d": upsample, "upsample_bilinear2d": upsample, "_upsample_bilinear2d_aa": upsample,
    "_upsample_nearest_exact2d": upsample, "upsample_bicubic2d": upsample,
    "embedding": embedding,
}


# activations PyTorch does not tag pointwise
ELEMENTWISE_NAMES = {"hardswish", "hardsigmoid", "mish", "elu", "leaky_relu", "softplus", "log_sigmoid_forward",
                     "glu", "prelu", "_prelu_kernel", "rrelu_with_noise", "celu", "selu", "logit", "threshold",
                     "hardshrink", "softshrink", "gelu", "silu", "relu", "relu6", "hardtanh", "masked_fill",
                     "clamp", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv", "heaviside", "sign", "round"}


def handler_for(func) -> Callable[[View], list[Emit]] | None:
    name = func.overloadpacket.__name__
    base = name.rstrip("_") if name.endswith("_") and not name.startswith("_") else name
    if base in HANDLERS:
        return HANDLERS[base]
    tags = set(func.tags)
    if torch.Tag.pointwise in tags or base in ELEMENTWISE_NAMES:
        return pointwise
    if torch.Tag.reduction in tags or base in ("max", "min", "std", "var", "norm", "linalg_vector_norm", "cumsum",
                                               "logsumexp", "topk", "sort", "argmax", "argmin"):
        return reduction
    return None


def flop_macs(func, node: Node) -> int:
    """MACs of an op by ``torch.utils.flop_counter``'s formula (FLOPs / 2), 0 if it has none."""
    from torch.utils.flop_counter import flop_registry

    fn = flop_registry.get(func.overloadpacket)
    if fn is None:
        return 0
    shape_args = [torch.empty(0).new_empty(a.shape, device="meta") if isinstance(a, Arg) else a for a in node.args]
    out = [torch.empty(0).new_empty(o.shape, device="meta") for o in node.out]
    try:
        return int(fn(*shape_args, out_val=out[0] if len(out) == 1 else tuple(out)) // 2)
    except Exception:   # formula needs what we did not keep: the op stays unmodelled with 0 MACs
        return 0
