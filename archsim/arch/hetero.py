"""``hetero``: a heterogeneous system of several engines (each a full hardware description: a
LoAS-style spike engine, a systolic array, a crossbar array, ...) joined by a link. See
docs/models/hetero.md.

* **Engines.** ``params.engines`` names each engine and gives its hardware YAML (a path relative
  to this file, optionally with ``set:`` overrides and ``copies:``, or an inline description).
  Every engine is loaded and validated as a design of its own; its components and its energy
  table enter this design under the engine's name (``snn/tppe``, ``ann/dram``), so energy and
  area by engine fall out of the usual per-component figures.
* **Assignment.** Each traced op goes to one engine: ``params.map`` (op id -> engine) first, then
  the first matching rule of ``params.rules`` (op kind, operand roles, id globs, tags; engine
  ``@producer`` = the engine of the op's first producer), then ``params.default``.
* **Link.** When an op reads a tensor produced on another engine, the tensor crosses the link
  once per destination engine: ``bits = numel x bits x timesteps`` of the producer's output (a
  spike is one bit), priced ``link.transfer_bit`` from this file's table, and it takes
  ``bits / bandwidth + latency`` on one of ``link.channels`` channels.
* **Time.** Engines keep their own clocks; an op's cycles are converted to this design's
  ``clock_mhz`` (the common time base): ``cycles = engine cycles x clock_mhz / engine clock_mhz``.
  The latency is a list schedule (:mod:`archsim.arch.list_schedule`) of the ops and transfers on
  the engines' copies and the link channels: independent branches on different engines (or on
  copies of one engine) overlap; each copy runs one op at a time. An engine's own layer
  pipelining (``imc``'s ``total_cycles``) is not applied inside the system.
"""
from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any, Literal

import pydantic

from archsim.arch.base import HardwareModel, OpContext, OpCost
from archsim.arch.list_schedule import Task, list_schedule
from archsim.config.validation import Strict
from archsim.errors import ConfigError, UnsupportedOpError
from archsim.trace.schema import GEMM_KINDS, OP_KINDS
from archsim.trace.select import Selector

LINK = "link"            # the link's component in this design's table (action ``transfer_bit``)
PRODUCER = "@producer"   # rule target: the engine of the op's first producer
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")



class EngineSpec(Strict):
    """An engine: ``file`` (a hardware YAML, relative to this file) or ``hardware`` (the same
    mapping written inline), ``set`` overrides (dotted key paths or nested mappings) and
    ``copies`` identical instances."""

    file: str | None = None
    hardware: dict[str, Any] | None = None
    set: dict[str, Any] = pydantic.Field(default_factory=dict)
    copies: int = pydantic.Field(1, ge=1, description="identical instances; ops go to the first free one")

    @pydantic.model_validator(mode="after")
    def _one_source(self):
        if (self.file is None) == (self.hardware is None):
            raise ValueError("give exactly one of 'file' or 'hardware'")
        return self


class Rule(Selector):
    """Ops the selector matches (every given condition: ``kind``, ``id`` globs, ``operands``
    roles, ``tags`` values, ``flags``; the language of :mod:`archsim.trace.select`) go to
    ``engine``."""

    engine: str


class LinkParams(Strict):
    bandwidth_gbps: float = pydantic.Field(gt=0, description="GB/s of one channel")
    latency_ns: float = pydantic.Field(0.0, ge=0, description="fixed delay of one transfer, ns")
    channels: int = pydantic.Field(1, ge=1, description="transfers in flight at once")
    default_bits: int = pydantic.Field(16, ge=1, description="bits of an element whose producer has no "
                                       "output operand (LIF outputs: 1, spikes)")


class HeteroParams(Strict):
    engines: dict[str, str | EngineSpec] = pydantic.Field(min_length=1)
    rules: list[Rule] = pydantic.Field(default_factory=list)
    map: dict[str, str] = pydantic.Field(default_factory=dict, description="op id -> engine, before the rules")
    default: str | None = None
    link: LinkParams
    schedule: Literal["list", "serial"] = pydantic.Field(
        "list", description="list: engines and link overlap; serial: everything one after another")

    @pydantic.model_validator(mode="after")
    def _names(self):
        for name in self.engines:
            if not _NAME.match(name) or name == LINK:
                raise ValueError(f"engine name {name!r}: use letters, digits, '_' or '-', starting with a "
                                 f"letter, and not '{LINK}'")
        known = set(self.engines)
        for i, rule in enumerate(self.rules):
            if rule.engine != PRODUCER and rule.engine not in known:
                raise ValueError(f"rules[{i}].engine {rule.engine!r} is not an engine ({', '.join(sorted(known))}) "
                                 f"or '{PRODUCER}'")
        for op_id, name in self.map.items():
            if name not in known:
                raise ValueError(f"map.{op_id}: {name!r} is not an engine ({', '.join(sorted(known))})")
        if self.default is not None and self.default not in known:
            raise ValueError(f"default {self.default!r} is not an engine ({', '.join(sorted(known))})")
        return self

    def spec(self, name: str) -> EngineSpec:
        s = self.engines[name]
        return EngineSpec(file=s) if isinstance(s, str) else s


def _load_engine(hw_path: Path | None, doc, name: str, spec: EngineSpec):
    from archsim.config.hardware import build_hardware, resolve_hardware
    from archsim.config.yaml_loader import Document, resolve_document
    from archsim.keypath import flatten, set_path

    at = ("params", "engines", name)
    path = None
    if spec.file is not None:   # confined like !include and energy tables (archsim.config.yaml_loader)
        from archsim.config.yaml_loader import resolve_reference
        path = resolve_reference(spec.file, hw_path or Path("engine.yaml"), None,
                                 f"{doc.locate(at)}: params.engines.{name}")
    try:
        if path is not None:
            edoc = resolve_hardware(path, flatten(spec.set))
        else:
            data = copy.deepcopy(spec.hardware)
            for dotted, value in flatten(spec.set).items():
                set_path(data, dotted, value)
            inner = at + ("hardware",)
            where = {k[len(inner):]: v for k, v in doc.where.items() if k[:len(inner)] == inner}
            edoc = Document(data=data, path=doc.path, where=where)
            resolve_document(edoc)
        part = build_hardware(edoc)
    except ConfigError as exc:
        raise ConfigError([f"{doc.locate(at)}: params.engines.{name}: {problem}" for problem in exc.problems]) from None
    if part.config.architecture == "hetero":
        raise ConfigError(f"{doc.locate(at)}: params.engines.{name}: an engine must be a single design, "
                          "not another 'hetero' system")
    return part


class _SubTrace:
    """The ops one engine runs, as a trace of their own: producers on other engines removed from
    ``inputs`` (they reach the engine over the link), tensors shared with the whole trace."""

    def __init__(self, trace, ops):
        ids = {o.id for o in ops}
        self.ops = [op.model_copy(update={"inputs": [i for i in op.inputs if i in ids]}) for op in ops]
        self.trace = trace.with_ops(self.ops)


class HeteroModel(HardwareModel):
    name = "hetero"
    description = ("heterogeneous system: several engines (any registered models), ops assigned by rules, "
                   "a costed link between them, concurrent engines (list schedule)")
    Params = HeteroParams
    kinds = OP_KINDS

    def __init__(self, hw):
        super().__init__(hw)
        p: HeteroParams = self.params
        self.engines = {name: part.create_model() for name, part in hw.parts.items()}
        self.copies = {name: p.spec(name).copies for name in hw.parts}
        self.scale = {name: self.clock_mhz / part.config.clock_mhz for name, part in hw.parts.items()}
        self.assignment: dict[str, str] = {}
        self._sub_ops: dict[str, Any] = {}
        self._ctx: dict[str, OpContext] = {}
        self._transfers: dict[str, list[tuple[str, float]]] = {}   # consumer op -> [(producer, bits)]
        self._ops: dict[str, Any] = {}
        self._costs: dict[str, OpCost] = {}
        self._times: dict[str, tuple[float, float]] = {}

    # --- loading --------------------------------------------------------------------------------
    @classmethod
    def assemble(cls, params: HeteroParams, table, path, doc):
        from archsim.energy.table import EnergyTable

        for comp in table.components:
            if "/" in comp:
                raise ConfigError(f"{table.origin[comp]}: components.{comp}: a hetero system's own table "
                                  "may not use '/' in component names (engine components are named engine/component)")
        parts = {name: _load_engine(path, doc, name, params.spec(name)) for name in params.engines}
        return parts, EnergyTable.merge([table, *(part.table.prefixed(name) for name, part in parts.items())])

    @classmethod
    def check(cls, hw) -> None:
        hw.table.action(LINK, "transfer_bit")   # the link must be priced (PriceError names the table)

    # --- assignment -----------------------------------------------------------------------------
    def _assign(self, trace) -> dict[str, str]:
        p: HeteroParams = self.params
        ids = {op.id for op in trace.ops}
        for op_id in p.map:
            if op_id not in ids:
                raise ConfigError(f"{self.hw.path or self.hw.name}: params.map.{op_id}: no op '{op_id}' in "
                                  f"{trace.path or trace.name}")
        out: dict[str, str] = {}
        for op in trace.ops:
            engine = p.map.get(op.id)
            for rule in p.rules if engine is None else ():
                if rule.matches(op):
                    if rule.engine != PRODUCER:
                        engine = rule.engine
                    elif op.inputs:
                        engine = out[op.inputs[0]]
                    else:
                        continue
                    break
            engine = engine or p.default
            if engine is None:
                raise UnsupportedOpError(
                    f"{self.hw.path or self.hw.name}: params.rules: no rule assigns op '{op.id}' ({op.kind}) of "
                    f"{trace.path or trace.name} to an engine, and params.default is not set")
            if not self.engines[engine].supports(op):
                raise UnsupportedOpError(
                    f"{self.hw.path or self.hw.name}: engine '{engine}' ({self.hw.parts[engine].config.architecture}) "
                    f"does not model op kind '{op.kind}' (op '{op.id}' of {trace.path or trace.name}); "
                    "assign it to another engine in params.rules or params.map")
            out[op.id] = engine
        return out

    def _output_bits(self, op) -> float:
        """Bits of the tensor ``op`` writes, over all its timesteps."""
        T = op.timesteps
        if op.output is not None:
            return float(op.output.numel * op.output.bits * T)
        if op.kind in GEMM_KINDS:
            g = op.gemm
            return float(g.groups * g.M * g.N * self.params.link.default_bits * T)
        bits = 1 if op.kind == "lif" else self.params.link.default_bits
        return float(op.elements * bits * T)

    def prepare(self, trace, ctx: OpContext) -> None:
        self._ops = {op.id: op for op in trace.ops}
        self.assignment = self._assign(trace)
        self._transfers = {}
        sent: set[tuple[str, str]] = set()
        for op in trace.ops:
            dest = self.assignment[op.id]
            for src in dict.fromkeys(op.inputs):
                if self.assignment[src] != dest and (src, dest) not in sent:
                    sent.add((src, dest))
                    self._transfers.setdefault(op.id, []).append((src, self._output_bits(self._ops[src])))
        for name, model in self.engines.items():
            sub = _SubTrace(trace, [op for op in trace.ops if self.assignment[op.id] == name])
            self._sub_ops.update({op.id: op for op in sub.ops})
            self._ctx[name] = OpContext(sub.trace, ctx.seed)
            model.prepare(sub.trace, self._ctx[name])

    # --- costs ----------------------------------------------------------------------------------
    def _link_cycles(self, bits: float) -> float:
        link = self.params.link
        seconds = bits / 8 / (link.bandwidth_gbps * 1e9) + link.latency_ns * 1e-9
        return seconds * self.clock_mhz * 1e6

    def run_op(self, op, ctx: OpContext) -> OpCost:
        name = self.assignment[op.id]
        c = self.engines[name].run_op(self._sub_ops[op.id], self._ctx[name])
        actions = {f"{name}/{comp}": dict(per) for comp, per in c.actions.items()}
        traffic = {f"{name}/{lvl}": b for lvl, b in c.traffic_bytes.items()}
        metrics = {f"{name}/{k}": v for k, v in c.metrics.items()}
        link_bits = sum(bits for _, bits in self._transfers.get(op.id, ()))
        if link_bits:
            actions[LINK] = {"transfer_bit": link_bits}
            traffic[LINK] = link_bits / 8
            metrics["link_bytes"] = link_bits / 8
            metrics["link_cycles"] = sum(self._link_cycles(b) for _, b in self._transfers[op.id])
        cost = OpCost(cycles=c.cycles * self.scale[name], actions=actions, traffic_bytes=traffic,
                      macs_effectual=c.macs_effectual, utilization=c.utilization, metrics=metrics,
                      labels={**c.labels, "engine": name})
        self._costs[op.id] = cost
        return cost

    def instances(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, model in self.engines.items():
            for comp, n in model.instances().items():
                out[f"{name}/{comp}"] = n * self.copies[name]
        return out

    # --- time -----------------------------------------------------------------------------------
    def total_cycles(self, trace, costs: dict[str, OpCost]) -> float:
        if self.params.schedule == "serial":
            self._times = {}
            return float(sum(c.cycles + c.metrics.get("link_cycles", 0.0) for c in costs.values()))
        tasks: list[Task] = []
        producer_of: dict[tuple[str, str], str] = {}   # (producer, destination engine) -> transfer task
        for i, op in enumerate(trace.ops):
            dest = self.assignment[op.id]
            for src, bits in self._transfers.get(op.id, ()):
                tid = f"{LINK}:{src}->{dest}"
                producer_of[(src, dest)] = tid
                tasks.append(Task(tid, LINK, self._link_cycles(bits), (src,), priority=i))
            preds = tuple(producer_of[(s, dest)] if self.assignment[s] != dest else s
                          for s in dict.fromkeys(op.inputs))
            tasks.append(Task(op.id, dest, costs[op.id].cycles, preds, priority=i))
        copies = {**self.copies, LINK: self.params.link.channels}
        self._times = list_schedule(tasks, copies)
        return max((e for _, e in self._times.values()), default=0.0)

    # --- summary --------------------------------------------------------------------------------
    def summarize(self, summary: dict) -> dict:
        clock_hz = self.clock_mhz * 1e6
        latency = summary["latency_s"]
        engines = {}
        for name, part in self.hw.parts.items():
            ids = [i for i, e in self.assignment.items() if e == name]
            busy_s = sum(self._costs[i].cycles for i in ids) / clock_hz
            engines[name] = {
                "architecture": part.config.architecture, "hardware": part.name,
                "clock_mhz": part.config.clock_mhz, "copies": self.copies[name], "ops": len(ids),
                "macs": float(sum(self._ops[i].macs * self._ops[i].timesteps for i in ids)),
                "busy_s": busy_s,
                "utilization_time": busy_s / (self.copies[name] * latency) if latency > 0 else 0.0,
            }
        transfers = [(src, bits) for pairs in self._transfers.values() for src, bits in pairs]
        link = {"transfers": len(transfers), "bytes": sum(b for _, b in transfers) / 8,
                "busy_s": sum(self._link_cycles(b) for _, b in transfers) / clock_hz}
        return {"engines": engines, "link": link}

    @classmethod
    def price_summary(cls, summary: dict, table=None) -> None:
        energy = summary["energy_j_by_component"]
        area = summary["area_mm2_by_component"]
        for name, engine in summary["engines"].items():
            pre = f"{name}/"
            engine["energy_j"] = math.fsum(v for k, v in sorted(energy.items()) if k.startswith(pre))
            engine["area_mm2"] = math.fsum(v for k, v in sorted(area.items()) if k.startswith(pre))
        summary["link"]["energy_j"] = energy.get(LINK, 0.0)
