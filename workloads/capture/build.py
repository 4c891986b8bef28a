"""Captured nodes -> trace ops: group a layer's calls over the timesteps, lay its tensors out per
timestep, map it through :mod:`workloads.capture.aten_ops`, and write the ops with
:class:`archsim.trace.builder.TraceBuilder` (which computes every operand's statistics).

Timesteps (T > 1, a spiking network):

* a call site that runs ``k * T`` times (the model's own loop over T, snnTorch style, or the
  capture's loop over a single-step network) becomes ``k`` ops, each with ``timesteps: T`` and its
  T calls' tensors stacked as ``[T, ...]``;
* a call that runs once on a tensor whose leading axis carries time (``[T*B, ...]`` folded, or
  ``[T, B, ...]`` multi-step) becomes one op with ``timesteps: T``, its tensors split into T steps;
* anything else (a classifier after the readout averaged over T) runs once: ``timesteps: 1``.

Edges follow the tensors. An edge to a later layer (a recurrent connection: the previous step's
spikes) is kept as the tag ``recurrent_inputs`` instead, so ops stay in topological order.

Per sample (``workloads.trace(per_sample=True)``, ANNs): every tensor whose leading axis is a
multiple of the batch size (a batch-major layout: ``[B, ...]``, ``[B*heads, ...]``,
``[B*tokens, ...]``) is described as one sample's (loop bounds, shapes) while its statistics
(densities; what a rule computes from ``data``) are taken over all samples.
"""
from __future__ import annotations

import math
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from archsim.errors import TraceError
from archsim.trace.builder import TraceBuilder
from archsim.trace.schema import Header, Role
from workloads.capture.aten_ops import Emit, Operand, View, flop_macs, handler_for
from workloads.capture.nodes import Arg, Node
from workloads.capture.operands import tensor_operand, weight_operand
from workloads.capture.rules import Call, ModuleRule


class UnmodelledWarning(UserWarning):
    """Work the capture could not express as a modelled op (recorded as ``unmodelled``)."""


@dataclass
class Group:
    nodes: list[Node]
    looped: bool

    @property
    def first(self) -> Node:
        return self.nodes[0]


def group_nodes(nodes: list[Node], T: int) -> list[Group]:
    sites: dict[tuple, list[Node]] = defaultdict(list)
    for n in nodes:
        sites[n.site].append(n)
    groups = []
    for occ in sites.values():
        c = len(occ)
        if T > 1 and c % T == 0:
            m = c // T
            groups += [Group([occ[t * m + j] for t in range(T)], True) for j in range(m)]
        else:
            groups += [Group([n], False) for n in occ]
    groups.sort(key=lambda g: g.first.index)
    return groups


class TraceWriter:
    def __init__(self, header: Header, T: int, spiking: bool, *, weight_bits: int | None = 8,
                 activation_bits: int | None = None, input_bits: int | None = None, store_spikes: bool = True,
                 store_lif_spikes: bool = False, major_layout: bool = False,
                 rules: dict[str, ModuleRule] | None = None, modules: dict | None = None,
                 samples: int | None = None):
        self.b = TraceBuilder(header)
        self.samples = samples          # per-sample description of a batch of this many (None: the batch)
        self.rules, self.modules = rules or {}, modules or {}   # module path -> its rule / the module
        self.major = major_layout       # timed tensors are [T, B, ...] (SpikingJelly multi-step, Norse), not [T*B, ...]
        self.T, self.spiking = T, spiking
        self.weight_bits, self.activation_bits, self.input_bits = weight_bits, activation_bits, input_bits
        self.store_spikes, self.store_lif_spikes = store_spikes, store_lif_spikes
        self.group_of: dict[int, int] = {}       # node index -> group position
        self.op_of: dict[int, list[str]] = {}    # group position -> op ids standing for its output
        self.used: dict[str, int] = {}
        self.ids: set[str] = set()               # op ids written
        self.nth: dict[tuple[str, str], int] = {}   # (module, aten op) -> layers of it written so far
        self.gemm_index = 0
        self.unmodelled: list[tuple[str, str, int]] = []   # (op id, function, MACs over all timesteps)

    # ---- per-timestep tensors
    def _operand_fn(self, g: Group, T: int, forced: bool = False):
        """Per-timestep operands of the group; ``forced``: a rule set its timesteps, so every
        run-time tensor whose leading axis divides into them is ``[T*B, ...]``."""
        peers: dict[int, list[Arg]] = {}
        lists = [n.tensor_args + n.out for n in g.nodes]
        for col in zip(*lists):
            peers[id(col[0])] = list(col)

        def operand(a: Arg) -> Operand:
            if a.info.param is not None:
                return Operand(a.array, list(a.shape), a.info, True)
            if self.samples and a.shape and a.shape[0] % self.samples == 0:   # T = 1: one sample's shape
                shape = [a.shape[0] // self.samples, *a.shape[1:]]
                return Operand(None if a.array is None else a.array.reshape(self.samples, *shape), shape, a.info)
            if g.looped:
                arrs = [p.array for p in peers.get(id(a), [a])]
                data = np.stack(arrs) if all(x is not None for x in arrs) else None
                return Operand(data, list(a.shape), a.info)
            if T > 1 and (a.info.timed or forced) and a.shape and a.shape[0] % T == 0:
                shape = [a.shape[0] // T, *a.shape[1:]]
                data = None if a.array is None else a.array.reshape(T, *shape)
                if a.info.major and a.shape[0] == T and len(a.shape) > 1:   # [T, B, ...]: per step [B, ...]
                    shape = list(a.shape[1:])
                    data = None if a.array is None else a.array
                return Operand(data, shape, a.info)
            data = None if a.array is None else np.broadcast_to(a.array[None], (T, *a.shape))
            return Operand(data, list(a.shape) or [1], a.info)
        return operand

    def _timesteps(self, g: Group) -> int:
        if self.T == 1:
            return 1
        if g.looped:
            return self.T
        n = g.first
        timed = [a for a in n.tensor_args + n.out[:1] if a.info.timed and a.shape and a.shape[0] % self.T == 0]
        return self.T if timed else 1

    # ---- operands
    def _activation(self, name: str, o: Operand, T: int, store: bool = False):
        data = o.data
        if data is None:
            return self.b.operand(name, Role.activation, shape=o.shape, bits=self.activation_bits or 32)
        data = np.asarray(data, dtype=np.float32).reshape(-1 if self.samples else T, *o.shape)
        from_spikes = o.info.spike or (o.info.is_input and self.spiking)
        bits = (self.input_bits if o.info.is_input else None) or self.activation_bits or 32
        if self.samples:        # one sample's shape, the density over all samples
            return self.b.operand(name, Role.activation, data=data, shape=o.shape, bits=bits, store=False)
        return tensor_operand(self.b, name, data, spikes=self.spiking and from_spikes, bits=bits, store=store)

    def _weight(self, o: Operand):
        return weight_operand(self.b, np.asarray(o.data).reshape(o.shape), self.weight_bits)

    def _operand(self, name: str, o: Operand, kind: str, T: int, output: bool = False):
        if o.spec is not None:            # described by a module rule
            return self.b.operand(name, **o.spec)
        if output:
            return self._activation(name, o, T)
        if o.weight and kind in ("conv2d", "linear") and name == "weight":
            return self._weight(o)
        return self._activation(name, o, T, store=self.store_spikes and kind in ("conv2d", "linear"))

    # ---- ops
    def _id(self, g: Group, kind: str, suffix: str = "") -> str:
        n = g.first
        short = n.name.removesuffix("_with_indices").removeprefix("_native_").removeprefix("native_").lstrip("_")
        base = n.module if (n.leaf or n.name == "neuron") and n.module else \
            (f"{n.module}.{short}" if n.module else short)
        base = re.sub(r"\s+", "_", base + suffix)
        k = self.used.get(base, 0)
        self.used[base] = k + 1
        return base if k == 0 else f"{base}#{k + 1}"

    def _inputs(self, pos: int, g: Group, arg: int | None = None) -> tuple[list[str], list[str]]:
        """The ops that made the group's tensors (``arg``: its ``arg``-th tensor only), those
        written before it and those after it (recurrent)."""
        before, after = [], []
        for n in g.nodes:
            for a in (n.tensor_args if arg is None else n.tensor_args[arg:arg + 1]):
                src = a.info.src
                if src is None or src not in self.group_of:
                    continue
                p = self.group_of[src]
                if p == pos:
                    continue
                (before if p in self.op_of else after).extend(self.op_of.get(p, [f"layer@{p}"]))
        return list(dict.fromkeys(before)), list(dict.fromkeys(after))

    def write(self, groups: list[Group]) -> None:
        for pos, g in enumerate(groups):
            for n in g.nodes:
                self.group_of[n.index] = pos
        for pos, g in enumerate(groups):
            try:
                self.op_of[pos] = self._write_group(pos, g)
            except Exception as exc:      # never silent: name the layer that could not be written
                n = g.first
                raise TraceError(f"capture: cannot write aten.{n.name} of module {n.module or '(model)'!r}: "
                                 f"{type(exc).__name__}: {exc}") from exc

    def _write_group(self, pos: int, g: Group) -> list[str]:
        n = g.first
        rule = self.rules.get(n.module)
        forced = rule is not None and rule.timesteps is not None
        T = rule.timesteps if forced else self._timesteps(g)
        operand = self._operand_fn(g, T, forced)
        inputs, recurrent = self._inputs(pos, g)
        if n.name == "through":           # a module that writes no op: its readers read its producers
            return inputs
        tags = {"module": n.module or "(model)", "aten": n.name}
        if recurrent:
            tags["recurrent_inputs"] = ",".join(recurrent)
        nth = self.nth.get((n.module, n.name), 0)
        self.nth[(n.module, n.name)] = nth + 1
        if rule is not None:
            tags.update(rule.tags)
        if n.neuron is not None:
            return [self._lif(g, T, operand, inputs, tags)]
        emits: list[Emit] = []
        why = "no mapping to a trace op kind"
        call = Call(n.module, self.modules.get(n.module), View(n, T, operand), nth, tuple(inputs), self.T, dict(
            weight_bits=self.weight_bits, activation_bits=self.activation_bits, input_bits=self.input_bits,
            store_spikes=self.store_spikes, store_lif_spikes=self.store_lif_spikes)) if rule is not None else None
        if n.name == "module":            # a module its rule writes
            emits, why = list(rule.ops(call) or []), f"the rule of module {n.module!r} wrote no op"
        elif (handler := handler_for(n.func)) is not None:
            emits = handler(View(n, T, operand))
            if rule is not None and rule.edit is not None:
                edited = [rule.edit(call, e) for e in emits]
                emits = [e for e in edited if e is not None]
                if edited and not emits:    # the rule drops the op: its consumers read its producers
                    return inputs
        if not emits:
            return [self._unmodelled(g, T, inputs, tags, why)]
        ids, by_suffix, results = [], {}, []
        for k, e in enumerate(emits):
            suffix = e.suffix if e.suffix is not None else ("" if len(emits) == 1 else f".{k}")
            op_id = e.id or self._id(g, e.kind, suffix)
            by_suffix[suffix] = op_id
            if e.id is not None and (e.id in self.ids or e.id in self.used):
                raise TraceError(f"module {n.module!r} (rule): op id {e.id!r} is already taken")
            if e.inputs is not None and e.reads is not None:
                raise TraceError(f"module {n.module!r} (rule): op {op_id!r} sets both inputs (op ids) and reads")
            if e.inputs is not None:
                if unknown := [i for i in e.inputs if i not in self.ids]:
                    raise TraceError(f"module {n.module!r} (rule): op {op_id!r} reads ops not written before it: "
                                     f"{unknown}")
                reads = list(e.inputs)
            elif e.reads is not None:
                reads = [i for r in e.reads
                         for i in (self._inputs(pos, g, r)[0] if isinstance(r, int) else [by_suffix[r]])]
            else:
                reads = inputs if k == 0 else [ids[-1]]
            etags = {**tags, **e.tags}
            if e.kind in ("conv2d", "linear"):
                etags["layer_index"] = self.gemm_index
                if self.gemm_index == 0:
                    etags["encoding_layer"] = True
                self.gemm_index += 1
            try:
                ops = [self._operand(name, o, e.kind, T) for name, o in e.operands]
                out = self._operand("output", e.output, e.kind, T, output=True) if e.output is not None else None
                self.b.add(e.kind, op_id, inputs=list(dict.fromkeys(reads)), operands=ops, output=out,
                           timesteps=e.timesteps or T, tags=etags, **e.fields)
            except TraceError as exc:
                if rule is not None:      # a caller's rule described it: its mistake, not an unmodelled op
                    raise TraceError(f"module {n.module!r} (rule): {exc}") from exc
                self.used[op_id] = 0
                return [self._unmodelled(g, T, inputs, tags, str(exc))]
            ids.append(op_id)
            self.ids.add(op_id)
            self.used.setdefault(op_id, 1)
            if e.result:
                results.append(op_id)
        return results or ids[-1:]

    def _lif(self, g: Group, T: int, operand, inputs, tags) -> str:
        n, spec = g.first, g.first.neuron
        x, s = operand(n.args[0]), operand(n.out[0])
        op_id = self._id(g, "lif")
        neurons = math.prod(s.shape)
        out = self._activation("output", s, T, store=self.store_lif_spikes)
        cur = self._activation("input", x, T) if math.prod(x.shape) == neurons else None
        self.b.add("lif", op_id, inputs=inputs, operands=[cur] if cur is not None else [], output=out,
                   timesteps=T, neurons=neurons, threshold=spec.threshold, leak=spec.leak, reset=spec.reset,
                   reset_value=spec.reset_value, tags={**tags, "library": spec.library, **spec.tags})
        self.ids.add(op_id)
        return op_id

    def _unmodelled(self, g: Group, T: int, inputs, tags, why: str) -> str:
        n = g.first
        macs = flop_macs(n.func, n) if n.func is not None else 0
        elements = math.prod(n.out[0].shape) if n.out else 0
        if T > 1 and not g.looped and n.out and n.out[0].shape and n.out[0].shape[0] % T == 0:
            macs, elements = macs // T, elements // T
        if self.samples and n.out and n.out[0].shape and n.out[0].shape[0] % self.samples == 0:
            macs, elements = macs // self.samples, elements // self.samples
        op_id = self._id(g, "unmodelled")
        self.b.add("unmodelled", op_id, inputs=inputs, timesteps=T, function=str(n.func), dense_macs=macs,
                   elements=elements, tags={**tags, "reason": why[:200]})
        self.unmodelled.append((op_id, str(n.func), macs * T))
        self.ids.add(op_id)
        return op_id

    def warn(self) -> None:
        if not self.unmodelled:
            return
        total = sum(op.macs * op.timesteps for op in self.b.ops)
        macs = sum(m for _, _, m in self.unmodelled)
        funcs = sorted({f for _, f, _ in self.unmodelled})
        share = 100.0 * macs / total if total else 0.0
        warnings.warn(f"{len(self.unmodelled)} op(s) could not be expressed and are recorded as 'unmodelled' "
                      f"({', '.join(funcs)}): {macs} MACs, {share:.2f} % of the trace's MACs; no hardware "
                      "model runs them", UnmodelledWarning, stacklevel=3)
