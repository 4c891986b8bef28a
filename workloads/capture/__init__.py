"""Trace any PyTorch model: ``workloads.trace(model, example_input, timesteps=..., name=...)``.

The model runs once on the example input under an aten-level recorder
(:mod:`workloads.capture.record`); every op that computes becomes a trace op through the mapping
table (:mod:`workloads.capture.aten_ops`), spiking neurons of our own ``LIF``, snnTorch, SpikingJelly
and Norse become ``lif`` ops (:mod:`workloads.capture.neurons`), and ops the table cannot express
are kept as ``unmodelled`` ops with their MACs and a warning (:mod:`workloads.capture.build`).
A caller adds what it knows about its own modules (integer weight codes, tags, operand
descriptions, a module written as one op) with per-module rules (:mod:`workloads.capture.rules`).
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any

import torch
from torch import nn

from archsim.trace.schema import Header, Provenance
from workloads.capture.build import TraceWriter, UnmodelledWarning, group_nodes
from workloads.capture.neurons import find_neurons, reset_states
from workloads.capture.record import Recorder, capture_context
from workloads.capture.rules import Call, ModuleRule, Rules, resolve_rules

__all__ = ["trace", "UnmodelledWarning", "CaptureError", "ModuleRule", "Call"]


def _call(model: nn.Module, x: Any):
    return model(*x) if isinstance(x, tuple) else model(**x) if isinstance(x, dict) else model(x)


def _count_neuron_calls(model: nn.Module, names: set[str], x: Any) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    mods = {m: n for n, m in model.named_modules() if n in names}
    hooks = [m.register_forward_hook(lambda m, a, o: counts.__setitem__(mods[m], counts[mods[m]] + 1))
             for m in mods]
    try:
        with torch.no_grad():
            _call(model, x)
    finally:
        for h in hooks:
            h.remove()
    return counts


def trace(model: nn.Module, example_input: Any, *, timesteps: int | None = None, name: str | None = None,
          batch: int | None = None, weights: str = "random_init", inputs: str = "synthetic", notes: str = "",
          dataset: str = "", source: str = "", input_description: str = "", seed: int = 0,
          metrics: dict[str, float] | None = None, config: dict[str, Any] | None = None,
          weight_bits: int | None = 8, activation_bits: int | None = 8, input_bits: int | None = 8,
          store_spikes: bool = True, store_lif_spikes: bool = False, loop: str = "auto",
          timed_input: bool = False, rules: Rules | None = None, per_sample: bool = False):
    """Run ``model`` on ``example_input`` (a tensor, a tuple of positional inputs or a dict of
    keyword inputs) and return its :class:`archsim.trace.io.Trace` (``.save(path)`` writes it).

    ``timesteps``: T of a spiking network (default: ``model.timesteps`` or 1). The model's own
    convention is kept: a forward that loops over T itself (snnTorch tutorials), a multi-step
    forward on ``[T, B, ...]`` (SpikingJelly ``step_mode='m'``, Norse ``LIF``) or ``[T*B, ...]``
    (ours; ``timed_input=True`` when the example input is already ``[T*B, ...]``, e.g. the
    encoded input of a network's body). A single-step network (every neuron called once per forward: snnTorch ``init_hidden``,
    SpikingJelly ``step_mode='s'``) is run T times here, from rest, on the same input
    (``loop="capture"`` forces this, ``loop="model"`` forbids it).

    ``weights`` / ``inputs``: the provenance written in the header (``trained``, ``pretrained``,
    ``random_init`` / ``real``, ``synthetic``): say what they are; the defaults assume random
    weights and a synthetic input. ``weight_bits``: weights stored as per-channel integers of this
    width (None: float32); activations (and the input) are described as ``activation_bits`` /
    ``input_bits`` wide (default 8, what integer accelerators run; None: 32, the float tensors
    seen). Spikes are 1 bit.

    ``rules``: per-module rules (:class:`ModuleRule`, by module class or path, or a function of
    the path and the module): a module written as its own op(s), edits of the ops the table
    makes, a module written as no op, the timesteps a module runs on, tags
    (:mod:`workloads.capture.rules`). ``config``: written into the header; its keys win over the
    capture's own (``weight_bits``...).

    ``per_sample``: the trace describes one sample of the batch (header ``batch`` 1, loop bounds
    and shapes of one sample: every tensor whose leading axis is a multiple of the batch size is
    taken as batch-major) while the operands' statistics are taken over the whole batch; ANNs
    only.

    A model the capture cannot run or write raises an error naming the aten op and module."""
    if loop not in ("auto", "model", "capture"):
        raise ValueError(f"loop must be auto, model or capture, got {loop!r}")
    model.eval()
    neurons = find_neurons(model)
    spiking = bool(neurons)
    T = int(timesteps if timesteps is not None else (getattr(model, "timesteps", 1) if spiking else 1))
    if T < 1:
        raise ValueError(f"timesteps must be >= 1, got {T}")
    if not spiking and T > 1:
        raise ValueError(f"timesteps={T} given, but the model has no spiking neuron the capture recognises "
                         "(our LIF, snnTorch, SpikingJelly, Norse): an ANN runs once (T = 1)")
    steps, how = 1, "ann" if not spiking else "model"
    if spiking and T > 1:
        reset_states(model)
        counts = _count_neuron_calls(model, set(neurons), example_input)
        single = all(neurons[n].step == "single" for n in neurons)
        once = all(c == 1 for c in counts.values())
        if loop == "capture" or (loop == "auto" and single and once):
            steps, how = T, "capture"
        elif all(neurons[n].step == "multi" for n in neurons):
            how = "multi-step"
        bad = {n: c for n, c in counts.items() if c not in (1, T) and c % T}
        if bad and how != "capture":
            warnings.warn(f"neurons called a number of times that is not a multiple of T={T} per forward: {bad}; "
                          "their ops are kept one per call", UserWarning, stacklevel=2)
    if per_sample and spiking:
        raise ValueError("per_sample describes one sample of an ANN's batch; a spiking network's leading axis "
                         "may carry the timesteps, so it is traced per batch")
    resolved = resolve_rules(model, rules)
    return _capture(model, example_input, T, steps, how, neurons, name, batch, weights, inputs, notes, dataset,
                    source, input_description, seed, metrics, config, weight_bits, activation_bits, input_bits,
                    store_spikes, store_lif_spikes, resolved, timed_input, per_sample)


class CaptureError(RuntimeError):
    """The model failed while it ran under the recorder (the message names the aten op and module)."""


def _capture(model, example_input, T, steps, how, neurons, name, batch, weights, inputs, notes, dataset, source,
             input_description, seed, metrics, config, weight_bits, activation_bits, input_bits, store_spikes,
             store_lif_spikes, rules, timed_input=False, per_sample=False):
    """The capture proper (see :func:`trace`)."""
    spiking = bool(neurons)
    reset_states(model)
    rec = Recorder(model, T, opaque={n for n, r in rules.items() if r.ops is not None},
                   through={n for n, r in rules.items() if r.through})
    # Norse's convention: a single-step network returns (output, state) and takes the state back
    threads_state = steps > 1 and "state" in inspect.signature(model.forward).parameters and \
        any(s.library == "norse" for s in neurons.values())
    state = None
    try:
        with capture_context(rec):
            rec.mark_input(example_input, timed=timed_input)
            for _ in range(steps):
                if threads_state:
                    out, state = model(example_input, state)
                else:
                    out = _call(model, example_input)
    except (RuntimeError, TypeError, NotImplementedError) as exc:
        raise CaptureError(f"graph capture of {name or type(model).__name__} failed at {rec.where or 'its start'}: "
                           f"{type(exc).__name__}: {exc}") from exc
    reset_states(model)
    first = example_input if isinstance(example_input, torch.Tensor) else next(
        t for t in (example_input.values() if isinstance(example_input, dict) else example_input)
        if isinstance(t, torch.Tensor))
    B = batch or (int(first.shape[1] if rec.input_timed(first) else first.shape[0] // (T if timed_input else 1))
                  if first.dim() else 1)
    samples = None
    if per_sample:
        if batch not in (None, 1):
            raise ValueError(f"per_sample describes one sample: batch={batch} contradicts it")
        samples, B = B, 1
    cfg = dict(capture="workloads.capture (aten dispatch recorder)", timestep_loop=how,
               neurons={lib: sum(1 for s in neurons.values() if s.library == lib)
                        for lib in sorted({s.library for s in neurons.values()})},
               weight_bits=weight_bits, activation_bits=activation_bits, input_bits=input_bits,
               example_input=[list(first.shape)])
    cfg.update(config or {})
    header = Header(model=name or type(model).__name__, source=source, dataset=dataset,
                    input_description=input_description or f"example input {list(first.shape)} ({inputs})",
                    batch=B, timesteps=T, seed=seed, provenance=Provenance(weights=weights, inputs=inputs, notes=notes),
                    metrics=dict(metrics or {}), config=cfg, created_by="archsim workloads.capture")
    major = any(s.step == "multi" and s.library != "archsim" for s in neurons.values())
    writer = TraceWriter(header, T, spiking, weight_bits=weight_bits, activation_bits=activation_bits,
                         input_bits=input_bits, store_spikes=store_spikes, store_lif_spikes=store_lif_spikes,
                         major_layout=major, rules=rules, modules=dict(model.named_modules()) if rules else {},
                         samples=samples)
    writer.write(group_nodes(rec.nodes, T))
    writer.warn()
    del out
    return writer.b.build()
