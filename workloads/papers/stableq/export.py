"""Export a post-training-quantised CNN (:mod:`workloads.papers.stableq.cnn`) as an archsim trace, from one
forward pass on real images, with the graph capture (:func:`workloads.trace`) and these
per-module rules (:mod:`workloads.capture.rules`):

* every :class:`~workloads.papers.stableq.cnn.QLayer` is one ``conv2d`` / ``linear`` op (its fake
  quantisation is not a separate op): the input operand with the layer's activation bits
  (``uint`` after a ReLU, ``int`` for the signed network input), a per-tensor static ``quant``
  spec and the density measured on the images; the weight operand holds the **real integer
  codes** (stored), per-output-channel asymmetric ``quant`` (16-bit scales, zero points of the
  weight's width) and the histogram of the codes; tags ``weight_bits`` / ``act_bits``;
* ReLUs are ``elementwise`` ``relu`` ops on 16-bit integers (signed in, unsigned out); the
  residual sum of a :class:`~workloads.models.resnet.BasicBlock` is an ``add`` op described by its
  16-bit sum, tagged with its ``block``; pooling layers are ``pool`` ops described by their window.

The capture orders the ops as they ran and connects them along the tensors (a shortcut
convolution reads the block's input; the residual ``add`` reads both branches). Activations are
not stored (their statistics are).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
from torch import nn

from archsim.trace.io import Trace
from archsim.trace.schema import DType, Header, Histogram, Quant, Role
from workloads.capture import Call, ModuleRule
from workloads.capture.aten_ops import Emit, Operand
from workloads.papers.stableq.cnn import QLayer, quant_layers


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _values(o: Operand) -> np.ndarray:
    """One ANN tensor (T = 1) as the layer saw it."""
    return np.asarray(o.data).reshape(o.shape)


def _act(o: Operand, bits: int, signed: bool, quant: Quant | None = None) -> Operand:
    return Operand.described(role=Role.activation, data=_values(o), bits=bits,
                             dtype=DType.int if signed else DType.uint, quant=quant, store=False)


def _qlayer_ops(call: Call) -> list[Emit]:
    """A quantised layer: one GEMM op with the real integer weight codes."""
    m: QLayer = call.module
    q = m.quantized
    inp, out = call.view.t(0), call.view.out
    codes = q.codes.reshape(q.codes.shape[0], -1)[:, :q.k].reshape(q.shape).numpy().astype(np.int16)
    edges, counts = q.code_histogram()
    wq = Quant(granularity="channel", symmetric=q.spec.symmetric, scale_bits=16,
               zero_point_bits=0 if q.spec.symmetric else q.spec.bits)
    w = Operand.described(role=Role.static_weight, data=codes, bits=q.spec.bits,
                          dtype=DType.int if q.spec.symmetric else DType.uint, quant=wq,
                          histogram=Histogram(edges=[float(e) for e in edges], counts=counts))
    x = _act(inp, m.a_bits, m.act.signed, Quant(granularity="tensor", symmetric=True, scale_bits=16))
    y = Operand.described(role=Role.activation, shape=list(out.shape), bits=16, dtype=DType.float, store=False)
    layer, tags = m.layer, {"weight_bits": q.spec.bits, "act_bits": m.a_bits}
    if isinstance(layer, nn.Conv2d):
        (kh, kw), (sh, sw), (ph, pw) = _pair(layer.kernel_size), _pair(layer.stride), _pair(layer.padding)
        fields = dict(batch=inp.shape[0], in_channels=layer.in_channels, out_channels=layer.out_channels,
                      in_h=inp.shape[2], in_w=inp.shape[3], kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw,
                      pad_h=ph, pad_w=pw, groups=layer.groups)
        return [Emit("conv2d", fields, [("input", x), ("weight", w)], y, tags)]
    fields = dict(tokens=inp.shape[0], in_features=layer.in_features, out_features=layer.out_features)
    return [Emit("linear", fields, [("input", x), ("weight", w)], y, tags)]


def _relu(call: Call, e: Emit) -> Emit:
    (_, x), = e.operands
    return replace(e, operands=[("input", _act(x, 16, signed=True))],
                   output=_act(e.output, 16, signed=False))


def _residual(call: Call, e: Emit) -> Emit:
    """The block's residual sum, described by the sum (the input of its last ReLU)."""
    if e.kind != "add":
        return e
    return replace(e, operands=[("input", _act(e.output, 16, signed=True))], output=None,
                   tags={**e.tags, "block": call.name})


def _pool_ops(call: Call) -> list[Emit]:
    """A pooling layer, described by its window alone (an adaptive pool as the plain window it is)."""
    m, inp, out = call.module, call.view.t(0), call.view.out
    n, c, h, w = inp.shape
    if isinstance(m, nn.AdaptiveAvgPool2d):
        oh, ow = out.shape[2], out.shape[3]
        if h % oh or w % ow:
            raise ValueError(f"{call.name}: adaptive pooling {h}x{w} -> {oh}x{ow} is not a plain pooling window")
        kh, kw, sh, sw, ph, pw, mode = h // oh, w // ow, h // oh, w // ow, 0, 0, "avg"
    else:
        (kh, kw), (sh, sw), (ph, pw) = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
        mode = "max" if isinstance(m, nn.MaxPool2d) else "avg"
    return [Emit("pool", dict(mode=mode, batch=n, channels=c, in_h=h, in_w=w, kernel_h=kh, kernel_w=kw,
                              stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw), [])]


def rules() -> dict:
    """The capture rules of a quantised CNN (module class -> rule)."""
    from workloads.models.resnet import BasicBlock

    pool = ModuleRule(ops=_pool_ops)
    return {QLayer: ModuleRule(ops=_qlayer_ops), nn.ReLU: ModuleRule(edit=_relu),
            BasicBlock: ModuleRule(edit=_residual), nn.MaxPool2d: pool, nn.AvgPool2d: pool,
            nn.AdaptiveAvgPool2d: pool}


def export_quantized_cnn(model: nn.Module, x: torch.Tensor, header: Header) -> Trace:
    """The trace of ``model`` (with :class:`QLayer` layers) on the batch ``x``; ``header`` gives
    the model name, source, provenance, metrics and config (the batch is ``x``'s)."""
    import workloads

    for name, m in quant_layers(model):
        if m.quantized is None:
            raise ValueError(f"{name}: layer is not quantised (run workloads.papers.stableq.cnn.quantize_cnn first)")
    p = header.provenance
    return workloads.trace(
        model, x, name=header.model, source=header.source, dataset=header.dataset,
        input_description=header.input_description, seed=header.seed, weights=p.weights, inputs=p.inputs,
        notes=p.notes, metrics=header.metrics, config=header.config, weight_bits=None, activation_bits=16,
        input_bits=None, rules=rules())
