"""Per-module rules: what a caller adds to the capture of a module's calls
(``workloads.trace(model, x, rules=...)``).

A frontend that knows more about some modules than the aten ops show (a quantised layer whose
weights are integer codes, a block whose sum is a residual, a pooling layer it describes its own
way) says so with a :class:`ModuleRule`; the capture still records, orders and connects every op.

* ``ops``: the module is **one node per call**: the aten ops inside it are not recorded, and
  ``ops(call)`` returns its trace op(s) (:class:`~workloads.capture.aten_ops.Emit`), from the
  module object and the tensors it read and returned (``call.view``), e.g. a fake-quantised
  layer written as one ``conv2d`` whose weight operand holds the real integer codes;
* ``edit``: the ops the mapping table made from the aten ops this module ran itself (its innermost
  module, not its children's) pass through ``edit(call, emit)``, which returns the op to write
  (``dataclasses.replace`` a kind, fields, operands, tags, its ``id`` or its ``inputs``, e.g. to
  name ops after a reference trace) or None: the op is not written (work the target folds away)
  and its consumers read its producers instead; ``call.nth`` tells apart the module's ops of one
  aten op (its first ``add``, its second...) and ``call.inputs`` are the op ids the op reads;
* ``tags``: added to every op of the module;
* ``through``: the module writes **no op** (it folds into a neighbouring op, as inference
  batch-norm folds into the convolution before it, or it only rearranges timesteps): the aten ops
  inside it are not recorded, and the ops that read its output read its inputs' producers;
* ``timesteps``: the module's ops run on this many timesteps, not the network's T (an ANN branch
  of a hybrid network: 1; a layer run on half the timesteps): its tensors' leading axis holds
  that many steps (``[k*B, ...]``), whatever the capture inferred.

``ops`` may write several ops (a module whose work is not one op): each
:class:`~workloads.capture.aten_ops.Emit` may name its op (``suffix`` of the module's op id),
its edges (``reads``), its timesteps, and whether it stands for the module's output (``result``).

An operand an ``ops`` / ``edit`` function writes itself is an
:class:`~workloads.capture.aten_ops.Operand` with ``spec``: the keyword arguments of
:meth:`archsim.trace.builder.TraceBuilder.operand` (role, bits, dtype, quant, data, histogram,
store...), used instead of the capture's own description.

``rules`` maps a module class (every instance, subclasses included) or a module path to its rule,
or is a function ``(path, module) -> ModuleRule | None``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

from torch import nn

from workloads.capture.aten_ops import Emit, View


@dataclass(frozen=True)
class Call:
    """One captured layer of a module with a rule: its path, the module, the tensors (``view``);
    ``nth``: how many layers of the same aten op this module ran before it (0: its first ``add``);
    ``inputs``: the ids of the ops it reads, in argument order; the network's timesteps and the
    capture's options (``weight_bits``, ``activation_bits``, ``input_bits``, ``store_spikes``,
    ``store_lif_spikes``) for ops a rule describes itself."""

    name: str
    module: nn.Module
    view: View
    nth: int = 0
    inputs: tuple[str, ...] = ()
    timesteps: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModuleRule:
    ops: Callable[[Call], list[Emit]] | None = None
    edit: Callable[[Call, Emit], Emit] | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    through: bool = False
    timesteps: int | None = None

    def __post_init__(self):
        if self.through and (self.ops is not None or self.edit is not None):
            raise ValueError("ModuleRule: a module that writes no op (through=True) has no ops or edit")
        if self.timesteps is not None and self.timesteps < 1:
            raise ValueError(f"ModuleRule: timesteps must be >= 1, got {self.timesteps}")

    @property
    def opaque(self) -> bool:
        """Recorded as one node per call (its aten ops not recorded)."""
        return self.ops is not None or self.through


Rules = Union[Mapping[Union[type, str], ModuleRule], Callable[[str, nn.Module], Union[ModuleRule, None]]]


def resolve_rules(model: nn.Module, rules: Rules | None) -> dict[str, ModuleRule]:
    """Module path -> its rule, for every module of ``model`` that has one."""
    if not rules:
        return {}
    if callable(rules) and not isinstance(rules, Mapping):
        found = {name: rules(name, m) for name, m in model.named_modules()}
        bad = {n: type(r).__name__ for n, r in found.items() if r is not None and not isinstance(r, ModuleRule)}
        if bad:
            raise TypeError(f"rules: expected a ModuleRule or None per module, got {bad}")
        return {n: r for n, r in found.items() if r is not None}
    names = dict(model.named_modules())
    out: dict[str, ModuleRule] = {}
    for key, rule in rules.items():
        if not isinstance(rule, ModuleRule):
            raise TypeError(f"rules[{key!r}]: expected a ModuleRule, got {type(rule).__name__}")
        if isinstance(key, str):      # a path's rule wins over its class's
            if key not in names:
                raise KeyError(f"rules: no module {key!r} in {type(model).__name__}")
            out[key] = rule
            continue
        if not isinstance(key, type):
            raise TypeError(f"rules: key {key!r} is neither a module class nor a module path")
        for n in (n for n, m in names.items() if isinstance(m, key)):   # a class the model lacks: no rule
            if not isinstance(rules.get(n), ModuleRule):
                out.setdefault(n, rule)
    nested = sorted(n for n, r in out.items() if r.opaque and any(
        o != n and o.startswith(f"{n}.") for o in out))
    if nested:   # an opaque module's children never run under the recorder's eye
        inner = {o for n in nested for o in out if o.startswith(f"{n}.")}
        raise ValueError(f"rules: module(s) {nested} are one node each (ops=... / through=True), so the rules of "
                         f"{sorted(inner)} "
                         "inside them would never apply")
    return out
