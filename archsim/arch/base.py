"""The interface every hardware model implements.

A model turns one traced operation into an :class:`OpCost`: cycles, action counts
(component -> action -> count), memory traffic (level -> bytes) and optional metrics. It reports
the components it instantiates (component -> instance count) for area and static power. It never
holds an energy or area constant: :mod:`archsim.energy.price` prices counts from the tables.

Adding a model means one module with a subclass of :class:`HardwareModel` (registered in
:mod:`archsim.arch.registry` or through an entry point) and one YAML file in ``hw_configs/``.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from archsim.config.validation import Strict
from archsim.trace.schema import Operand

if TYPE_CHECKING:
    from pathlib import Path

    from archsim.config.hardware import Hardware
    from archsim.energy.table import EnergyTable
    from archsim.trace.io import Trace


@dataclass
class OpCost:
    """What one operation costs on one model. Units are in the names."""

    cycles: float                                                # latency of the op, clock cycles
    actions: dict[str, dict[str, float]] = field(default_factory=dict)   # component -> action -> count
    traffic_bytes: dict[str, float] = field(default_factory=dict)        # memory level -> bytes moved
    macs_effectual: float | None = None       # MACs (or accumulates) actually performed
    utilization: float | None = None          # fraction of peak compute used, 0..1
    metrics: dict[str, float] = field(default_factory=dict)   # model-specific, unit in each name
    labels: dict[str, str] = field(default_factory=dict)      # text columns of the op's row (e.g. engine)


class ActionCounter:
    """Accumulate action counts: ``c.add("sram", "read_bit", 1024)``."""

    def __init__(self):
        self._counts: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add(self, component: str, action: str, count: float) -> None:
        if count:
            self._counts[component][action] += float(count)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """component -> action -> count, keys sorted (the same dict whatever the order of adds)."""
        return {c: dict(sorted(self._counts[c].items())) for c in sorted(self._counts)}


class OpContext:
    """What a model may ask about the trace while it runs an op: real tensors where the trace has
    them, otherwise deterministic synthetic ones from the recorded statistics."""

    def __init__(self, trace: "Trace", seed: int):
        self.trace = trace
        self.seed = seed

    def tensor(self, op, operand: Operand | str) -> np.ndarray:
        """The logical tensor of ``operand`` of ``op``: spikes ``[T, *shape]`` 0/1, weights in
        their shape; synthetic (seeded by trace seed, op id and operand name) if not stored."""
        from archsim.trace.synthetic import synthetic_operand

        if isinstance(operand, str):
            operand = op.operand(operand)
        if operand.tensor is not None:
            return self.trace.tensor(operand.tensor)
        return synthetic_operand(operand, op.timesteps, self.seed, op.id)

    def is_real(self, operand: Operand) -> bool:
        return operand.tensor is not None


class HardwareModel(ABC):
    """Base class of hardware models. Subclasses set ``name``, ``description``, ``Params`` (a
    pydantic model of the ``params:`` section) and ``kinds`` (op kinds they model)."""

    name: ClassVar[str]
    description: ClassVar[str]
    Params: ClassVar[type[Strict]]
    kinds: ClassVar[tuple[str, ...]]

    def __init__(self, hw: "Hardware"):
        self.hw = hw
        self.params = hw.params
        self.clock_mhz = hw.config.clock_mhz

    @classmethod
    def assemble(cls, params, table: "EnergyTable", path: "Path | None", doc) -> "tuple[dict[str, Hardware], EnergyTable]":
        """Called when the hardware file loads, before :meth:`check`: a design made of other
        hardware descriptions (``hetero``) loads them and returns ``(parts, table)``, its engines
        and the table pricing the whole design. ``doc`` is the resolved YAML document (for error
        locations). Default: no parts, the table as it is."""
        return {}, table

    @classmethod
    def check(cls, hw: "Hardware") -> None:
        """Cross-field checks after validation (e.g. every component it uses has a price);
        raise ConfigError. The default checks nothing."""

    def supports(self, op) -> bool:
        return op.kind in self.kinds

    def prepare(self, trace: "Trace", ctx: OpContext) -> None:
        """Called once before the ops run: a model that maps the whole network first (e.g.
        crossbars per layer, which sets its area) does it here. Default: nothing."""

    @abstractmethod
    def run_op(self, op, ctx: OpContext) -> OpCost:
        """Cost of one operation (all of its timesteps)."""

    @abstractmethod
    def instances(self) -> dict[str, float]:
        """component -> number of instances (in the unit its table entry's area is given for).
        Called after every op has run, so it may depend on the workload mapped."""

    def total_cycles(self, trace: "Trace", costs: dict[str, OpCost]) -> float:
        """Latency of the whole trace in cycles. Default: ops run one after another. Models that
        pipeline layers or overlap branches override this."""
        return float(sum(c.cycles for c in costs.values()))

    def summarize(self, summary: dict) -> dict:
        """Extra summary entries computed from the counted summary (cycles, latency, traffic;
        no energy or area yet), e.g. figures per engine of a heterogeneous design. Default: none."""
        return {}

    @classmethod
    def price_summary(cls, summary: dict, table=None) -> None:
        """Fill the priced parts of this model's own summary entries (those :meth:`summarize`
        added) from the priced summary and the tables, in place; it sees the summary and the
        tables only, never the model, so that a stored result can be re-priced
        (:func:`archsim.price`). Default: nothing."""
