"""Spiking-neuron adapters: recognise the neurons of our own ``LIF``, snnTorch, SpikingJelly and
Norse, and read their threshold, leak and reset, without importing those libraries (a module is
recognised by its class's home module, so none of them is a dependency).

Each adapter returns a :class:`NeuronSpec`; the capture turns every call of such a module into one
``lif`` trace op (its input current and output spikes) instead of the elementwise ops inside it.

Leak is the membrane's decay factor per timestep (``U[t] = leak * U[t-1] + I[t]`` in the trace
schema's terms):

* ours / SpikingJelly ``LIFNode``: ``1 - 1/tau`` (``ParametricLIFNode``: ``tau = 1/sigmoid(w)``),
  ``IFNode``: 1; reset hard to ``v_reset`` or soft (``v_reset=None``);
* snnTorch ``Leaky``/``Synaptic``/``RLeaky``/``RSynaptic``/``Alpha``: ``beta``; ``reset_mechanism``
  ``subtract`` -> soft, ``zero`` -> hard to 0, ``none`` -> no reset (recorded as soft with a tag);
  ``Synaptic`` also carries ``alpha`` (the synaptic current's decay) as a tag;
* Norse ``LIFCell``/``LIF``/``LIFBoxCell``/``LIFBox``: ``1 - dt * tau_mem_inv``; hard reset to
  ``v_reset``; ``tau_syn_inv`` (synaptic current, LIFCell) as a tag.

Timestep conventions (``step``): ``multi`` modules take the whole sequence in one call (ours:
``[T*B, ...]``; SpikingJelly ``step_mode='m'`` and Norse ``LIF``: ``[T, B, ...]``), ``single``
modules one timestep per call (snnTorch, SpikingJelly ``step_mode='s'``, Norse ``*Cell``): the
model's own loop over T, or the capture's (:func:`workloads.capture.trace`), calls them T times.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn


@dataclass(frozen=True)
class NeuronSpec:
    library: str
    threshold: float
    leak: float
    reset: str                      # hard | soft (trace schema ResetType)
    reset_value: float = 0.0
    step: str = "single"            # single | multi
    tags: dict = field(default_factory=dict)


def _f(v) -> float:
    return float(v.detach().reshape(-1)[0]) if hasattr(v, "detach") else float(v)


def _home(m: nn.Module) -> str:
    return type(m).__module__ or ""


def _ours(m: nn.Module) -> NeuronSpec | None:
    if not getattr(m, "is_spiking", False):
        return None
    return NeuronSpec("archsim", float(m.v_threshold), float(m.leak), str(getattr(m.reset, "value", m.reset)),
                      float(m.v_reset or 0.0), "multi",
                      {"tau": float(m.tau), "input_scale": 1.0 / m.tau if m.decay_input else 1.0,
                       "drop_single_spike": bool(m.drop_single_spike)})


def _snntorch(m: nn.Module) -> NeuronSpec | None:
    if not _home(m).startswith("snntorch") or not hasattr(m, "reset_mechanism") or not hasattr(m, "threshold"):
        return None
    mech = str(m.reset_mechanism)
    beta = getattr(m, "beta", None)
    tags = {"class": type(m).__name__, "reset_mechanism": mech}
    if hasattr(m, "alpha"):
        tags["alpha"] = _f(m.alpha)
    if beta is None:                 # Lapicque: beta from R, C, time_step
        beta = getattr(m, "beta", 1.0)
    leak = min(1.0, max(0.0, _f(beta)))
    reset, value = {"subtract": ("soft", 0.0), "zero": ("hard", 0.0)}.get(mech, ("soft", 0.0))
    if mech == "none":
        tags["no_reset"] = True
    return NeuronSpec("snntorch", _f(m.threshold), leak, reset, value, "single", tags)


def _spikingjelly(m: nn.Module) -> NeuronSpec | None:
    if not _home(m).startswith("spikingjelly") or not hasattr(m, "v_threshold") or not hasattr(m, "v_reset"):
        return None
    name = type(m).__name__
    if hasattr(m, "w") and "Parametric" in name:        # ParametricLIFNode: 1/tau = sigmoid(w)
        import torch
        inv_tau = float(torch.sigmoid(m.w.detach()).reshape(-1)[0])
    elif hasattr(m, "tau"):
        inv_tau = 1.0 / _f(m.tau)
    else:                                                # IFNode: no leak
        inv_tau = 0.0
    decay_input = bool(getattr(m, "decay_input", False))
    v_reset = m.v_reset
    step = "multi" if getattr(m, "step_mode", "s") == "m" else "single"
    return NeuronSpec("spikingjelly", _f(m.v_threshold), 1.0 - inv_tau, "soft" if v_reset is None else "hard",
                      0.0 if v_reset is None else _f(v_reset), step,
                      {"class": name, "input_scale": inv_tau if decay_input and inv_tau else 1.0})


def _norse(m: nn.Module) -> NeuronSpec | None:
    if not _home(m).startswith("norse") or not hasattr(m, "p") or not hasattr(m.p, "v_th"):
        return None
    p, dt = m.p, float(getattr(m, "dt", 0.001))
    tags = {"class": type(m).__name__, "dt": dt}
    if hasattr(p, "tau_syn_inv"):
        tags["tau_syn_inv"] = _f(p.tau_syn_inv)
    leak = min(1.0, max(0.0, 1.0 - dt * _f(p.tau_mem_inv)))
    step = "single" if type(m).__name__.endswith("Cell") else "multi"
    return NeuronSpec("norse", _f(p.v_th), leak, "hard", _f(p.v_reset), step, tags)


ADAPTERS = (_ours, _snntorch, _spikingjelly, _norse)


def neuron_spec(m: nn.Module) -> NeuronSpec | None:
    """The neuron description of ``m``, or None when it is not a spiking neuron we know."""
    for adapter in ADAPTERS:
        spec = adapter(m)
        if spec is not None:
            return spec
    return None


def find_neurons(model: nn.Module) -> dict[str, NeuronSpec]:
    """Qualified module name -> spec of every spiking neuron in ``model``."""
    return {name: spec for name, m in model.named_modules() if (spec := neuron_spec(m)) is not None}


def reset_states(model: nn.Module) -> None:
    """Clear the membrane state the libraries keep on their modules between calls (snnTorch
    ``init_hidden`` neurons, SpikingJelly memory modules), so a capture starts from rest."""
    for m in model.modules():
        home = _home(m)
        if home.startswith("snntorch") and callable(getattr(m, "reset_mem", None)):
            m.reset_mem()
        elif home.startswith("spikingjelly") and hasattr(m, "reset") and callable(m.reset):
            m.reset()
