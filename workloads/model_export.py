"""Export our models (the registry's: :class:`~workloads.snn.network.SpikingNet` networks, the
tiny CNN, TT-SNN, ReSpike, STAtten, Spikformer) as archsim traces, from one forward pass on real
inputs, with the graph capture (:func:`workloads.trace`) and these per-module rules
(:mod:`workloads.capture.rules`).

The capture writes every op the network computes (conv/linear GEMMs with the weight stored as
``weight_bits`` integers per output channel, nonzero weights never rounding to zero; LIF ops with
threshold, leak and reset; pooling, residual sums, norms, attention products...), connects the ops
along the tensors and lays the ``[T*B, ...]`` tensors out per timestep; an operand that a neuron
produced (through max-pooling and views), or the input of a spiking network, is a **spike**
operand when it holds only 0/1 (bit-packed, with per-timestep density and the spikes-in-T
histogram; stored for the GEMMs), otherwise an activation described by its density and bit width.

What the rules add, per module:

* a network with a ``body`` (``SpikingNet``, the tiny CNN) is traced from its body's input: the
  encoding over T (or the input normalisation) and the readout average over T are the input
  pipeline, not the network's work;
* batch-norm writes no op: at inference it folds into the convolution before it;
* ``Linear`` modules are one ``linear`` op each, their operands in the module's shapes;
* the modules of :mod:`workloads.ops` are one op each (``Add``, and its subclasses such as
  TT-SNN's two-branch mean: ``add``; ``Mul``: ``elementwise`` multiply; ``MatMul``: ``matmul``
  over the leading axes), as are ``Softmax`` modules (a scaled softmax included), ``Upsample``
  (bilinear: 4 ops per output) and adaptive pooling (one window);
* a module's own attributes: ``trace_timesteps`` (it runs on fewer timesteps than the network:
  an ANN branch of a hybrid network, TT-SNN's half-time cores), ``trace_tags`` (added to its ops,
  e.g. ``branch: ann``), ``trace_ops(call)`` (it writes its own ops, e.g. STAtten's per-chunk
  attention; :class:`~workloads.capture.aten_ops.Emit` s) and ``trace_through`` (it writes no op,
  e.g. joining timestep ranges).
"""
from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from archsim.trace.io import Trace
from archsim.trace.schema import Provenance
from workloads.capture import Call, ModuleRule
from workloads.capture.aten_ops import Emit, Operand, adaptive_pool
from workloads.capture.nodes import TInfo
from workloads.ops import Add, MatMul, Mul


def _linear(call: Call) -> list[Emit]:
    """One ``linear`` op with the operands in the module's shapes (``[B, tokens, features]`` stays
    3-D; the aten ``mm`` sees it folded)."""
    v, m = call.view, call.module
    x = v.t(0)
    w = Operand(m.weight.detach().float().cpu().numpy(), list(m.weight.shape), TInfo(param="weight"), weight=True)
    return [Emit("linear", dict(tokens=math.prod(x.shape[:-1]), in_features=m.in_features,
                                out_features=m.out_features), [("input", x), ("weight", w)], v.out)]


def _add(call: Call) -> list[Emit]:
    v = call.view
    return [Emit("add", dict(elements=math.prod(v.out.shape)), [("a", v.t(0)), ("b", v.t(1))], v.out)]


def _mul(call: Call) -> list[Emit]:
    v = call.view
    return [Emit("elementwise", dict(elements=math.prod(v.out.shape), function="multiply"),
                 [("a", v.t(0)), ("b", v.t(1))], v.out)]


def _matmul(call: Call) -> list[Emit]:
    v = call.view
    a, b = v.t(0), v.t(1)
    return [Emit("matmul", dict(batch=math.prod(a.shape[:-2]), M=a.shape[-2], K=a.shape[-1], N=b.shape[-1]),
                 [("a", a), ("b", b)], v.out)]


def _softmax(call: Call) -> list[Emit]:
    """A softmax over the last axis (a scaled one included: the scaling folds into it)."""
    v = call.view
    s = v.out.shape
    return [Emit("softmax", dict(rows=math.prod(s[:-1]), cols=s[-1]), [("input", v.t(0))], v.out)]


def _upsample(call: Call) -> list[Emit]:
    """Bilinear: 4 products and 3 sums per output (counted as 4 ops); nearest: a copy."""
    v, mode = call.view, call.module.mode
    return [Emit("elementwise", dict(elements=math.prod(v.out.shape), function=f"upsample_{mode}",
                                     ops_per_element=4.0 if "linear" in mode else 1.0), [("input", v.t(0))], v.out)]


# the module classes written as one op each (subclasses included), in the order they are tried
CLASS_OPS = ((nn.Linear, _linear), (Add, _add), (Mul, _mul), (MatMul, _matmul), (nn.Softmax, _softmax), (nn.Upsample, _upsample),
             (nn.AdaptiveAvgPool2d, lambda call: adaptive_pool("avg")(call.view)),
             (nn.AdaptiveMaxPool2d, lambda call: adaptive_pool("max")(call.view)))
FOLDED = (nn.BatchNorm1d, nn.BatchNorm2d)      # inference batch-norm: folds into the GEMM before it


def rule(path: str, m: nn.Module) -> ModuleRule | None:
    """The capture rule of one module of our models (None: the capture's own mapping)."""
    ops = getattr(m, "trace_ops", None) or next((fn for cls, fn in CLASS_OPS if isinstance(m, cls)), None)
    through = isinstance(m, FOLDED) or bool(getattr(m, "trace_through", False))
    timesteps = getattr(m, "trace_timesteps", None)
    tags = dict(getattr(m, "trace_tags", None) or {})
    if ops is None and not through and timesteps is None and not tags:
        return None
    return ModuleRule(ops=None if through else ops, through=through, timesteps=timesteps, tags=tags)


def network_input(model: nn.Module, x: torch.Tensor) -> tuple[nn.Module, torch.Tensor, bool]:
    """What to trace: ``model``'s ``body`` on the input the body receives when ``model`` runs on
    ``x`` (the encoded ``[T*B, ...]`` timesteps of a SpikingNet, the normalised images of the tiny
    CNN), or ``model`` itself on ``x``. The third value: the input already holds the timesteps."""
    body = getattr(model, "body", None)
    if not isinstance(body, nn.Module):
        return model, x, False
    seen: list[torch.Tensor] = []
    hook = body.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        hook.remove()
    if len(seen) != 1:
        raise ValueError(f"{type(model).__name__}.body ran {len(seen)} times on one input; expected once")
    return body, seen[0], int(getattr(model, "timesteps", 1)) > 1


def export_model(model: nn.Module, x: torch.Tensor, *, name: str, source: str = "", dataset: str = "",
                 input_description: str = "", seed: int = 0, provenance: Provenance | None = None,
                 metrics: dict[str, float] | None = None, config: dict[str, Any] | None = None,
                 weight_bits: int | None = 8, activation_bits: int | None = None, input_bits: int | None = None,
                 store_spikes: bool = True, store_lif_spikes: bool = False) -> Trace:
    """Run ``model`` on the batch ``x`` and return its trace (``.save(path)`` writes it).

    ``weight_bits``: weights stored as integers of this width (None: float32). Activation operands
    are described with ``activation_bits`` (None: 32, the float tensors seen), the network input
    with ``input_bits`` when given (8 for images). ``store_spikes``: the GEMMs' input spikes are
    stored; ``store_lif_spikes``: the neurons' output spikes too."""
    import workloads
    from workloads.capture.neurons import find_neurons

    T = int(getattr(model, "timesteps", 1)) if find_neurons(model) else 1
    target, inp, timed = network_input(model, x)
    p = provenance or Provenance(weights="trained", inputs="real")
    return workloads.trace(
        target, inp, timesteps=T, batch=int(x.shape[0]), name=name, source=source, dataset=dataset,
        input_description=input_description, seed=seed, weights=p.weights, inputs=p.inputs, notes=p.notes,
        metrics=metrics, config={**(config or {}), "batch": int(x.shape[0])}, weight_bits=weight_bits,
        activation_bits=activation_bits, input_bits=input_bits, store_spikes=store_spikes,
        store_lif_spikes=store_lif_spikes, timed_input=timed, rules=rule)
