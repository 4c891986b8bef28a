"""What the timestep-serial baselines (SparTen-S, GoSPA-S, Gamma-S) share: the cost of one
GEMM view given its tile walk and traffic, one operation per matched pair."""
from __future__ import annotations

from archsim.arch.base import ActionCounter, OpCost
from archsim.arch.spmspm.params import SpmspmParams
from archsim.arch.spmspm.timing import TileTraffic, memory_actions, simple_timing
from archsim.arch.spmspm.tile_walk import TileWalk


def baseline_cost(walk: TileWalk, traffic: TileTraffic, p: SpmspmParams, clock_mhz: float, pe: str, spike_input: bool,
                  metrics: dict[str, float]) -> OpCost:
    """Timing, actions and metrics shared by the three baselines (one op per matched pair)."""
    timing = simple_timing(walk, traffic, p, clock_mhz)
    ops = float(walk.loads.sum())
    acts = ActionCounter()
    acts.add(pe, "op" if spike_input else "mac", ops)
    traffic_bytes = memory_actions(acts, traffic)
    metrics = {"effectual_ops": ops, "compute_cycles": timing.compute_cycles,
               "imbalance_cycles": timing.compute_cycles - ops / p.n_pe,
               "bandwidth_stall_cycles": timing.bandwidth_stall_cycles, "fill_cycles": timing.fill_cycles,
               "tiles": float(walk.n_tiles), **metrics}
    return OpCost(cycles=timing.cycles, actions=acts.as_dict(), traffic_bytes=traffic_bytes, macs_effectual=ops,
                  utilization=ops / (p.n_pe * timing.cycles) if timing.cycles else 0.0, metrics=metrics)
