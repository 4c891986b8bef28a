"""The one place where counts become energy and area.

Hardware models return action counts (component -> action -> count) and instance counts
(component -> how many); :func:`price` multiplies them by the table. A stored result can be
re-priced with another table without simulating again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from archsim.energy.table import EnergyTable

ActionCounts = Mapping[str, Mapping[str, float]]


@dataclass
class Priced:
    dynamic_pj: dict[str, float] = field(default_factory=dict)   # component -> pJ
    static_pj: dict[str, float] = field(default_factory=dict)    # component -> pJ
    area_um2: dict[str, float] = field(default_factory=dict)     # component -> um2

    @property
    def energy_pj(self) -> dict[str, float]:
        keys = dict.fromkeys([*self.dynamic_pj, *self.static_pj])
        return {k: self.dynamic_pj.get(k, 0.0) + self.static_pj.get(k, 0.0) for k in keys}


def dynamic_energy_pj(actions: ActionCounts, table: EnergyTable) -> dict[str, float]:
    out: dict[str, float] = {}
    for component, per_action in actions.items():
        total = 0.0
        for action, count in per_action.items():
            if count:
                total += count * table.action(component, action).energy_pj
        out[component] = out.get(component, 0.0) + total
    return out


def area_um2(instances: Mapping[str, float], table: EnergyTable) -> dict[str, float]:
    return {c: n * table.area_um2(c).value for c, n in instances.items() if n}


def static_energy_pj(instances: Mapping[str, float], table: EnergyTable, latency_s: float) -> dict[str, float]:
    out = {}
    for component, n in instances.items():
        power = table.static_power_mw(component)
        if power is not None and n:
            out[component] = n * power.value * 1e-3 * latency_s * 1e12
    return out


def price(actions: ActionCounts, instances: Mapping[str, float], table: EnergyTable,
          latency_s: float) -> Priced:
    return Priced(dynamic_pj=dynamic_energy_pj(actions, table),
                  static_pj=static_energy_pj(instances, table, latency_s),
                  area_um2=area_um2(instances, table))
