"""The generic trace exporter: run a model on real inputs and write an archsim trace.

Forward hooks on the leaf modules record, in execution order, every Conv2d, Linear, LIF, pooling,
:class:`~workloads.ops.Add`, :class:`~workloads.ops.MatMul`, ReLU/GELU/SiLU, LayerNorm and Softmax
call with its real input and output tensors (functional calls are invisible to hooks: models use
the modules of :mod:`workloads.ops`). Each becomes one trace op (built with
:class:`archsim.trace.builder.TraceBuilder`, which computes the sparsity statistics):

* conv/linear: the GEMM op with its loop bounds; the input is a **spike** operand when the model
  has spiking neurons and the tensor holds only 0/1 (stored bit-packed, one word per neuron, with
  per-timestep density and the spikes-in-T histogram), otherwise an **activation** operand
  (density and bit width); the weight is the real (pruned) weight, stored as ``weight_bits``
  integers per output channel (nonzero weights never round to zero, so the pruning mask is
  exact), with per-row and per-column nonzeros; the output currents are described, not stored.
* LIF: neuron count, threshold, leak (1 - 1/tau), reset; the output spikes' statistics.
* pool / add / elementwise / layernorm / softmax: sizes and operand statistics.

Batch-norm, dropout, flatten and identity modules pass their producer through (they fold into the
neighbouring op). A module that runs on fewer timesteps than the network (an ANN branch of a
hybrid network, TT-SNN's half-time cores) sets ``trace_timesteps``; a module whose work is not one
op (STAtten's per-chunk attention) writes its own ops with ``trace_ops(exporter, call)``, returning
the ids of the ops that stand for its output; ``trace_tags`` on a module are added to its op's tags
(e.g. ``branch: ann`` for the rules of a heterogeneous system). Graph edges follow the tensors:
each op's ``inputs`` are the ops that produced the tensors it read. Works on
:class:`~workloads.snn.network.SpikingNet` models (``[T*B, ...]`` timestep-major layout) and on
plain ANNs (T = 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from archsim.trace.builder import TraceBuilder
from archsim.trace.quant import quantize_weight  # noqa: F401  (re-exported: frontends import it from here)
from archsim.trace.schema import Header, Provenance
from workloads.capture.operands import tensor_operand, weight_operand
from workloads.ops import Add, MatMul, Mul

PASS_THROUGH = (nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout, nn.Identity, nn.Flatten)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
ELEMENTWISE = {nn.ReLU: ("elementwise", "relu"), nn.GELU: ("gelu", None), nn.SiLU: ("silu", None)}


@dataclass
class _Call:
    name: str
    module: nn.Module
    inputs: list[torch.Tensor]
    output: torch.Tensor
    sources: list[str | None] = field(default_factory=list)   # producer op of each input

    @property
    def producers(self) -> list[str]:
        return list(dict.fromkeys(s for s in self.sources if s is not None))


def _recorded(m: nn.Module) -> bool:
    return (isinstance(m, (nn.Conv2d, nn.Linear, nn.LayerNorm, nn.GroupNorm, nn.Softmax, nn.Upsample, Add,
                           MatMul, Mul, *POOLS, *ELEMENTWISE))
            or getattr(m, "is_spiking", False) or hasattr(m, "trace_ops"))


def record_calls(model: nn.Module, x: torch.Tensor) -> tuple[list[_Call], torch.Tensor, list[str]]:
    """Run ``model(x)`` once (eval mode, no grad) and return the recorded calls, the output and
    the names of leaf modules that were run but are not modelled."""
    calls: list[_Call] = []
    producer: dict[object, str] = {}
    keep_alive: list[torch.Tensor] = []      # ids stay unique while the tensors live
    skipped: list[str] = []
    used_ids: dict[str, int] = {}

    def storage(t: torch.Tensor) -> tuple[str, int]:
        return ("storage", t.untyped_storage().data_ptr())

    def source(t: torch.Tensor) -> list[str]:
        """The op that made ``t``: by identity, else through views of its output (reshape,
        transpose... share the storage), else the most recent op."""
        for key in (id(t), storage(t)):
            if key in producer:
                return [producer[key]]
        return [calls[-1].name] if calls else []

    def made_by(t: torch.Tensor, op_id: str) -> None:
        producer[id(t)] = op_id
        producer.setdefault(storage(t), op_id)

    def hook(name):
        def fn(module, inputs, output):
            tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
            keep_alive.extend(tensors)
            keep_alive.append(output)
            if _recorded(module):
                n = used_ids.get(name, 0)
                used_ids[name] = n + 1
                op_id = name if n == 0 else f"{name}#{n + 1}"
                sources = [(source(t) or [None])[0] for t in tensors]
                calls.append(_Call(op_id, module, [t.detach() for t in tensors], output.detach(), sources))
                made_by(output, op_id)
            else:
                if not isinstance(module, PASS_THROUGH) and not (isinstance(module, nn.Sequential)):
                    skipped.append(name)
                if tensors and id(output) != id(tensors[0]):
                    src = source(tensors[0])
                    if src:
                        made_by(output, src[0])
        return fn

    handles = []
    for name, m in model.named_modules():
        if len(list(m.children())) == 0 and name:
            short = name.removeprefix("body.")
            handles.append(m.register_forward_hook(hook(short)))
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    return calls, out, sorted(set(skipped))


class _Exporter:
    def __init__(self, builder: TraceBuilder, T: int, spiking: bool, weight_bits: int | None,
                 activation_bits: int | None, input_bits: int | None, store_spikes: bool,
                 store_lif_spikes: bool):
        self.b, self.T, self.spiking = builder, T, spiking
        self.weight_bits, self.activation_bits, self.input_bits = weight_bits, activation_bits, input_bits
        self.store_spikes, self.store_lif_spikes = store_spikes, store_lif_spikes
        self.gemm_index = 0
        self.spike_out: dict[str, bool] = {}   # op id -> its output is a spike train
        self.cur_T = T                          # timesteps of the call being written
        self.alias: dict[str, list[str]] = {}   # a module that wrote its own ops -> the ops standing for its output
        self.extra_tags: dict = {}              # trace_tags of the module being written

    def resolve(self, producers: list[str]) -> list[str]:
        """Producer op ids, with modules that wrote their own ops replaced by those ops."""
        return list(dict.fromkeys(i for p in producers for i in self.alias.get(p, [p])))

    def per_t(self, t: torch.Tensor) -> np.ndarray:
        """[T*B, ...] -> [T, B, ...] numpy (T of the call being written)."""
        a = t.float().cpu().numpy()
        return a.reshape(self.cur_T, a.shape[0] // self.cur_T, *a.shape[1:])

    def from_spikes(self, src: str | None) -> bool:
        """May hold spikes: made by a neuron (through max-pooling and pass-through modules), or the
        network input of a spiking network (rate encoding); spikes when its values are 0/1."""
        from_neuron = self.spike_out.get(src, False) if src is not None else True
        return self.spiking and from_neuron

    def operand(self, name: str, t: torch.Tensor, store: bool | None = None, src: str | None = "?"):
        bits = (self.input_bits if src is None else None) or self.activation_bits or 32
        return tensor_operand(self.b, name, self.per_t(t), spikes=self.from_spikes(src), bits=bits,
                              store=self.store_spikes if store is None else store)

    def weight(self, w: torch.Tensor):
        return weight_operand(self.b, w.detach().float().cpu().numpy(), self.weight_bits)

    def op(self, kind: str, op_id: str, **fields):
        """Append an op, with the module's ``trace_tags`` (e.g. the branch of a hybrid network)."""
        if self.extra_tags:
            fields["tags"] = {**fields.get("tags", {}), **self.extra_tags}
        return self.b.add(kind, op_id, **fields)

    def add(self, c: _Call) -> None:
        if hasattr(c.module, "trace_ops"):    # a module that writes its own ops (e.g. per-chunk attention)
            self.alias[c.name] = list(c.module.trace_ops(self, c))
            self.spike_out[c.name] = False
            return
        # a module may run on fewer timesteps than the network (an ANN branch: 1; TT-SNN's HTT
        # cores: half of them): it says so with ``trace_timesteps``
        m, T = c.module, (getattr(c.module, "trace_timesteps", None) or self.T)
        self.cur_T = T
        self.extra_tags = dict(getattr(m, "trace_tags", None) or {})
        src = c.sources + [None] * (2 - len(c.sources))
        inp = lambda name, t, i=0, store=None: self.operand(name, t, store, src[i])  # noqa: E731
        # the op's own output: spikes only when it is a neuron or max-pools spikes
        out_spikes = getattr(m, "is_spiking", False) or (
            isinstance(m, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)) and (
                self.spike_out.get(src[0], False) if src[0] is not None else self.spiking))
        self.spike_out[c.name] = bool(out_spikes)
        outp = lambda t, store=False: self.operand("output", t, store, c.name)  # noqa: E731
        shape = lambda t: [t.shape[0] // T, *t.shape[1:]]  # noqa: E731  (per timestep, batch first)
        common = dict(inputs=self.resolve(c.producers), timesteps=T)
        if isinstance(m, nn.Conv2d):
            xin = c.inputs[0]
            B, C, H, W = shape(xin)
            tags = {"layer_index": self.gemm_index, "module": type(m).__name__}
            if self.gemm_index == 0:
                tags["encoding_layer"] = True
            self.gemm_index += 1
            self.op("conv2d", c.name, operands=[inp("input", xin), self.weight(m.weight)],
                       output=outp(c.output), batch=B, in_channels=C,
                       out_channels=m.out_channels, in_h=H, in_w=W, kernel_h=m.kernel_size[0],
                       kernel_w=m.kernel_size[1], stride_h=m.stride[0], stride_w=m.stride[1],
                       pad_h=m.padding[0], pad_w=m.padding[1], dilation_h=m.dilation[0],
                       dilation_w=m.dilation[1], groups=m.groups, tags=tags, **common)
        elif isinstance(m, nn.Linear):
            xin = c.inputs[0]
            tokens = math.prod(shape(xin)[:-1])
            tags = {"layer_index": self.gemm_index, "module": "Linear"}
            if self.gemm_index == 0:
                tags["encoding_layer"] = True
            self.gemm_index += 1
            self.op("linear", c.name, operands=[inp("input", xin), self.weight(m.weight)],
                       output=outp(c.output), tokens=tokens,
                       in_features=m.in_features, out_features=m.out_features, tags=tags, **common)
        elif getattr(m, "is_spiking", False):
            out = outp(c.output, store=self.store_lif_spikes)
            self.op("lif", c.name, operands=[inp("input", c.inputs[0], store=False)],
                       output=out, neurons=math.prod(shape(c.output)), threshold=m.v_threshold,
                       leak=m.leak, reset=m.reset, reset_value=m.v_reset or 0.0,
                       tags={"tau": m.tau, "input_scale": 1.0 / m.tau if m.decay_input else 1.0,
                             "drop_single_spike": bool(m.drop_single_spike)}, **common)
        elif isinstance(m, POOLS):
            B, C, H, W = shape(c.inputs[0])
            oh, ow = c.output.shape[-2:]
            if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
                kh, kw, sh, sw, ph, pw = -(-H // oh), -(-W // ow), H // oh, W // ow, 0, 0
            else:
                kh, kw = _pair(m.kernel_size)
                sh, sw = _pair(m.stride or m.kernel_size)
                ph, pw = _pair(m.padding)
            mode = "max" if isinstance(m, (nn.MaxPool2d, nn.AdaptiveMaxPool2d)) else "avg"
            self.op("pool", c.name, operands=[inp("input", c.inputs[0], store=False)],
                       output=outp(c.output), mode=mode, batch=B,
                       channels=C, in_h=H, in_w=W, kernel_h=kh, kernel_w=kw, stride_h=sh,
                       stride_w=sw, pad_h=ph, pad_w=pw, **common)
        elif isinstance(m, Add):
            ops = [inp(n, t, i, store=False) for i, (n, t) in enumerate(zip(("a", "b"), c.inputs))]
            self.op("add", c.name, operands=ops, output=outp(c.output),
                    elements=math.prod(shape(c.output)), **common)
        elif isinstance(m, Mul):
            ops = [inp(n, t, i, store=False) for i, (n, t) in enumerate(zip(("a", "b"), c.inputs))]
            self.op("elementwise", c.name, operands=ops, output=outp(c.output), function="multiply",
                    elements=math.prod(shape(c.output)), **common)
        elif isinstance(m, MatMul):
            a, bm = c.inputs
            sa, sb = shape(a), shape(bm)
            ops = [inp("a", a, 0, store=False), inp("b", bm, 1, store=False)]
            self.op("matmul", c.name, operands=ops, output=outp(c.output),
                       batch=math.prod(sa[:-2]), M=sa[-2], K=sa[-1], N=sb[-1], **common)
        elif isinstance(m, tuple(ELEMENTWISE)):
            kind, fn = ELEMENTWISE[type(m)]
            extra = {"function": fn} if fn else {}
            self.op(kind, c.name, operands=[inp("input", c.inputs[0], store=False)],
                       output=outp(c.output),
                       elements=math.prod(shape(c.output)), **extra, **common)
        elif isinstance(m, (nn.LayerNorm, nn.Softmax)):
            s = shape(c.output)
            kind = "layernorm" if isinstance(m, nn.LayerNorm) else "softmax"
            self.op(kind, c.name, operands=[inp("input", c.inputs[0], store=False)],
                       output=outp(c.output),
                       rows=math.prod(s[:-1]), cols=s[-1], **common)
        elif isinstance(m, nn.GroupNorm):
            s = shape(c.output)       # [B, C, ...]: each of B x groups normalises C/groups x spatial values
            self.op("layernorm", c.name, operands=[inp("input", c.inputs[0], store=False)], output=outp(c.output),
                    rows=s[0] * m.num_groups, cols=math.prod(s) // (s[0] * m.num_groups), variant="group", **common)
        elif isinstance(m, nn.Upsample):
            # bilinear: 4 products and 3 sums per output (counted as 4 ops); nearest: a copy
            self.op("elementwise", c.name, operands=[inp("input", c.inputs[0], store=False)], output=outp(c.output),
                    function=f"upsample_{m.mode}", ops_per_element=4.0 if "linear" in m.mode else 1.0,
                    elements=math.prod(shape(c.output)), **common)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def export(model: nn.Module, x: torch.Tensor, *, model_name: str, source: str = "", dataset: str = "",
           input_description: str = "", seed: int = 0, provenance: Provenance | None = None,
           metrics: dict[str, float] | None = None, config: dict[str, Any] | None = None,
           weight_bits: int | None = 8, activation_bits: int | None = None,
           input_bits: int | None = None, store_spikes: bool = True, store_lif_spikes: bool = False,
           progress: bool = False):
    """Run ``model`` on the images ``x`` ``[B, C, H, W]`` and return the trace
    (:class:`archsim.trace.io.Trace`; ``.save(path)`` writes it).

    ``weight_bits``: weights stored as integers of this width (None: float32). Activation
    operands are described with ``activation_bits`` (None: 32, the float tensors seen), the
    network input with ``input_bits`` when given (8 for images)."""
    from tqdm import tqdm
    from workloads.snn.neuron import spiking_modules

    spiking = bool(spiking_modules(model))
    T = int(getattr(model, "timesteps", 1)) if spiking else 1
    calls, out, skipped = record_calls(model, x)
    cfg = dict(config or {})
    cfg.update(weight_bits=weight_bits, activation_bits=activation_bits, input_bits=input_bits,
               batch=int(x.shape[0]))
    if skipped:
        cfg["unmodelled_modules"] = skipped
    header = Header(model=model_name, source=source, dataset=dataset,
                    input_description=input_description, batch=int(x.shape[0]), timesteps=T,
                    seed=seed, provenance=provenance or Provenance(weights="trained", inputs="real"),
                    metrics=dict(metrics or {}), config=cfg, created_by="archsim workloads.export")
    ex = _Exporter(TraceBuilder(header), T, spiking, weight_bits, activation_bits, input_bits,
                   store_spikes, store_lif_spikes)
    for c in tqdm(calls, desc=f"export {model_name}", disable=not progress, leave=False):
        ex.add(c)
    return ex.b.build()
