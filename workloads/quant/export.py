"""Export a post-training-quantised CNN (:mod:`workloads.quant.cnn`) as an archsim trace, from one
forward pass on real images.

Forward hooks record, in execution order:

* every :class:`~workloads.quant.cnn.QLayer` as a ``conv2d`` / ``linear`` op: the input operand
  with the layer's activation bits (``uint`` after a ReLU, ``int`` for the signed network input),
  a per-tensor static ``quant`` spec and the density measured on the images; the weight operand
  holds the **real integer codes** (stored), per-output-channel asymmetric ``quant`` (16-bit
  scales, zero points of the weight's width) and the histogram of the codes;
* max / average pooling as ``pool`` ops, ReLUs as ``elementwise`` ``relu`` ops, and the residual
  addition of a basic block (the input of its last ReLU) as an ``add`` op.

Ops are chained in execution order (each reads its predecessor); a residual ``add`` also reads the
block's input. Activations are not stored (their statistics are).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.schema import DType, Header, Histogram, Quant, Role
from archsim.trace.stats import activation_sparsity
from workloads.quant.cnn import QLayer


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def export_quantized_cnn(model: nn.Module, x: torch.Tensor, header: Header) -> Trace:
    """The trace of ``model`` (with :class:`QLayer` layers) on the batch ``x``."""
    from workloads.models.resnet import BasicBlock

    model.eval()
    b = TraceBuilder(header.model_copy(update={"batch": int(x.shape[0])}))
    events: list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]] = []
    block_inputs: dict[int, str] = {}
    hooks = []
    names = {m: n for n, m in model.named_modules()}

    def rec(kind):
        def fn(module, args, out):
            events.append((kind, module, args[0].detach(), out.detach()))
        return fn

    for m in model.modules():
        if isinstance(m, QLayer):
            hooks.append(m.register_forward_hook(rec("gemm")))
        elif isinstance(m, (nn.MaxPool2d, nn.AdaptiveAvgPool2d, nn.AvgPool2d)):
            hooks.append(m.register_forward_hook(rec("pool")))
        elif isinstance(m, nn.ReLU):
            hooks.append(m.register_forward_hook(rec("relu")))
        elif isinstance(m, BasicBlock):
            hooks.append(m.register_forward_pre_hook(
                lambda mod, args: events.append(("block_in", mod, args[0].detach(), args[0].detach()))))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()

    last: str | None = None
    block_owner: dict[int, BasicBlock] = {}
    for blk in (m for m in model.modules() if isinstance(m, BasicBlock)):
        block_owner[id(blk.relu2)] = blk
    for kind, m, inp, out in events:
        name = names[m]
        inputs = [last] if last else []
        if kind == "block_in":
            block_inputs[id(m)] = last
            continue
        if kind == "gemm":
            _gemm(b, name, m, inp, out, inputs)
        elif kind == "pool":
            _pool(b, name, m, inp, out, inputs)
        else:
            blk = block_owner.get(id(m))
            if blk is not None:          # the residual sum is this ReLU's input
                src = block_inputs.get(id(blk))
                b.add("add", f"{names[blk]}.add", inputs=inputs + ([src] if src and src not in inputs else []),
                      elements=int(inp.numel()), operands=[_act(b, "input", inp, 16, signed=True)],
                      tags={"block": names[blk]})
                inputs = [f"{names[blk]}.add"]
            b.add("elementwise", name, inputs=inputs, function="relu", elements=int(inp.numel()),
                  operands=[_act(b, "input", inp, 16, signed=True)], output=_act(b, "output", out, 16, signed=False))
        last = b.last_id
    return b.build()


def _act(b: TraceBuilder, name: str, t: torch.Tensor, bits: int, signed: bool, quant: Quant | None = None):
    a = t.numpy()
    return b.operand(name, Role.activation, shape=list(a.shape), bits=bits,
                     dtype=DType.int if signed else DType.uint, quant=quant,
                     sparsity=activation_sparsity(a), store=False)


def _gemm(b: TraceBuilder, name: str, m: QLayer, inp: torch.Tensor, out: torch.Tensor, inputs: list[str]) -> None:
    if m.quantized is None:
        raise ValueError(f"{name}: layer is not quantised (run workloads.quant.cnn.quantize_cnn first)")
    q = m.quantized
    codes = q.codes.reshape(q.codes.shape[0], -1)[:, :q.k].reshape(q.shape).numpy().astype(np.int16)
    edges, counts = q.code_histogram()
    wq = Quant(granularity="channel", symmetric=q.spec.symmetric, scale_bits=16,
               zero_point_bits=0 if q.spec.symmetric else q.spec.bits)
    w = b.operand("weight", Role.static_weight, data=codes, bits=q.spec.bits,
                  dtype=DType.int if q.spec.symmetric else DType.uint, quant=wq,
                  histogram=Histogram(edges=[float(e) for e in edges], counts=counts))
    aq = Quant(granularity="tensor", symmetric=True, scale_bits=16)
    x = _act(b, "input", inp, m.a_bits, m.act.signed, aq)
    y = b.operand("output", Role.activation, shape=list(out.shape), bits=16, dtype=DType.float, store=False)
    layer = m.layer
    tags = {"weight_bits": q.spec.bits, "act_bits": m.a_bits}
    if isinstance(layer, nn.Conv2d):
        (kh, kw), (sh, sw), (ph, pw) = _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.padding)
        b.add("conv2d", name, inputs=inputs, batch=int(inp.shape[0]), in_channels=layer.in_channels,
              out_channels=layer.out_channels, in_h=int(inp.shape[2]), in_w=int(inp.shape[3]), kernel_h=kh,
              kernel_w=kw, stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, groups=layer.groups,
              operands=[x, w], output=y, tags=tags)
    else:
        b.add("linear", name, inputs=inputs, tokens=int(inp.shape[0]), in_features=layer.in_features,
              out_features=layer.out_features, operands=[x, w], output=y, tags=tags)


def _pool(b: TraceBuilder, name: str, m: nn.Module, inp: torch.Tensor, out: torch.Tensor, inputs: list[str]) -> None:
    n, c, h, w = inp.shape
    if isinstance(m, nn.AdaptiveAvgPool2d):
        oh, ow = out.shape[2], out.shape[3]
        if h % oh or w % ow:
            raise ValueError(f"{name}: adaptive pooling {h}x{w} -> {oh}x{ow} is not a plain pooling window")
        kh, kw, sh, sw, ph, pw, mode = h // oh, w // ow, h // oh, w // ow, 0, 0, "avg"
    else:
        (kh, kw), (sh, sw), (ph, pw) = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
        mode = "max" if isinstance(m, nn.MaxPool2d) else "avg"
    b.add("pool", name, inputs=inputs, mode=mode, batch=int(n), channels=int(c), in_h=int(h), in_w=int(w),
          kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw)
