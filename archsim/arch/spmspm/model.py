"""The base of the dual-sparse models: GEMM ops through :meth:`SpmspmModel.view_cost` once
per GEMM view (the views' costs combined), other ops on the neuron or vector unit."""
from __future__ import annotations

import math
from typing import ClassVar

from archsim.arch.base import ActionCounter, HardwareModel, OpContext, OpCost
from archsim.arch.spmspm.gemm import GemmView, gemm_views, is_gemm
from archsim.arch.spmspm.params import SpmspmParams
from archsim.arch.vector_ops import vector_ops
from archsim.trace.schema import OP_KINDS


def vector_op(op, p: SpmspmParams, unit: str) -> OpCost:
    """A non-GEMM op on the neuron/vector unit: ``elements * T * ops_per_element`` operations on
    ``vector_lanes`` lanes; operands stream from the on-chip buffer (no DRAM traffic: the layer's
    spikes stay on chip between the GEMM and its LIF)."""
    n_ops = vector_ops(op, p.ops_per_element)
    acts = ActionCounter()
    acts.add(unit, "op", n_ops)
    cycles = math.ceil(n_ops / p.vector_lanes)
    return OpCost(cycles=float(cycles), actions=acts.as_dict(), traffic_bytes={},
                  utilization=n_ops / (p.vector_lanes * cycles) if cycles else 0.0,
                  metrics={"vector_ops": float(n_ops)})


def combine(costs: list[OpCost], n_pe: int) -> OpCost:
    """Sum the costs of an op's views (groups run one after another)."""
    acts = ActionCounter()
    traffic: dict[str, float] = {}
    metrics: dict[str, float] = {}
    for c in costs:
        for comp, per in c.actions.items():
            for action, n in per.items():
                acts.add(comp, action, n)
        for k, v in c.traffic_bytes.items():
            traffic[k] = traffic.get(k, 0.0) + v
        for k, v in c.metrics.items():
            metrics[k] = metrics.get(k, 0.0) + v
    cycles = float(sum(c.cycles for c in costs))
    ops = float(sum(c.macs_effectual or 0.0 for c in costs))
    return OpCost(cycles=cycles, actions=acts.as_dict(), traffic_bytes=traffic, macs_effectual=ops,
                  utilization=ops / (n_pe * cycles) if cycles else 0.0, metrics=metrics)


class SpmspmModel(HardwareModel):
    """Base of the dual-sparse models: GEMM ops go through :meth:`view_cost` once per GEMM view;
    other ops run on the neuron (``lif``) or vector (``vector``) unit."""

    kinds = OP_KINDS
    lif_overlapped: ClassVar[bool] = False   # a model whose LIF runs beside the PEs sets this
    packs_spike_b: ClassVar[bool] = False    # spike x spike matmuls on packed words (temporal-parallel)

    def run_op(self, op, ctx: OpContext) -> OpCost:
        if is_gemm(op):
            views = gemm_views(op, ctx, self.params.weight_bits, self.packs_spike_b)
            return combine([self.view_cost(v, op) for v in views], self.params.n_pe)
        cost = vector_op(op, self.params, "lif" if op.kind == "lif" else "vector")
        if op.kind == "lif" and self.lif_overlapped:
            cost.metrics["hidden_cycles"] = cost.cycles
            cost.cycles = 0.0
            cost.utilization = None
        return cost

    def view_cost(self, view: GemmView, op) -> OpCost:  # pragma: no cover - abstract
        raise NotImplementedError
