"""The one place where counts become energy and area: count once, price many.

A simulation counts (:class:`Counts`: actions per component over the whole run, instances of
each component, cycles and clock); :func:`price` multiplies them by a table (dynamic energy =
actions x energy per action, static energy = instances x static power x latency, area =
instances x area per instance) and :func:`priced_figures` turns that into the summary figures.
:func:`reprice` does the same for a stored result under another table or hardware file, without
simulating: the engine and a re-pricing run the same functions, so re-pricing with the table a
result was simulated with gives the same numbers bit for bit.

Sums run over sorted keys with :func:`math.fsum`, so the numbers do not depend on the order in
which a model filled its dictionaries (nor on ``PYTHONHASHSEED``).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from archsim.energy.table import EnergyTable
from archsim.errors import PriceError
from archsim.result import Counts

if TYPE_CHECKING:
    from archsim.config.hardware import Hardware
    from archsim.result import Result

__all__ = ["Counts", "Priced", "price", "priced_figures", "apply_prices", "op_energy_pj", "sum_actions",
           "dynamic_energy_pj", "static_energy_pj", "area_um2", "count_inputs", "count_key", "reprice"]

ActionCounts = Mapping[str, Mapping[str, float]]

def sum_actions(per_op: Iterable[ActionCounts]) -> dict[str, dict[str, float]]:
    """component -> action -> total count over ops (exact sums, sorted keys)."""
    parts: dict[str, dict[str, list[float]]] = {}
    for actions in per_op:
        for component, per_action in actions.items():
            slot = parts.setdefault(component, {})
            for action, count in per_action.items():
                slot.setdefault(action, []).append(float(count))
    return {c: {a: math.fsum(v) for a, v in sorted(parts[c].items())} for c in sorted(parts)}


def dynamic_energy_pj(actions: ActionCounts, table: EnergyTable) -> dict[str, float]:
    """component -> pJ of the counted actions."""
    out: dict[str, float] = {}
    for component in sorted(actions):
        per_action = actions[component]
        out[component] = math.fsum(per_action[a] * table.action(component, a).energy_pj
                                   for a in sorted(per_action) if per_action[a])
    return out


def area_um2(instances: Mapping[str, float], table: EnergyTable) -> dict[str, float]:
    """component -> um^2 of its instances."""
    return {c: instances[c] * table.area_um2(c).value for c in sorted(instances) if instances[c]}


def static_energy_pj(instances: Mapping[str, float], table: EnergyTable, latency_s: float) -> dict[str, float]:
    """component -> pJ leaked over ``latency_s`` by its instances (components without a static
    power in the table leak nothing)."""
    out = {}
    for component in sorted(instances):
        n = instances[component]
        power = table.static_power_mw(component)
        if power is not None and n:
            out[component] = n * power.value * 1e-3 * latency_s * 1e12
    return out


@dataclass
class Priced:
    """Counts times a table: component -> pJ (dynamic, static) and component -> um^2."""

    dynamic_pj: dict[str, float] = field(default_factory=dict)
    static_pj: dict[str, float] = field(default_factory=dict)
    area_um2: dict[str, float] = field(default_factory=dict)

    @property
    def energy_pj(self) -> dict[str, float]:
        return {k: self.dynamic_pj.get(k, 0.0) + self.static_pj.get(k, 0.0)
                for k in sorted({*self.dynamic_pj, *self.static_pj})}


def price(counts: Counts, table: EnergyTable) -> Priced:
    """Price ``counts`` with ``table``."""
    return Priced(dynamic_pj=dynamic_energy_pj(counts.actions, table),
                  static_pj=static_energy_pj(counts.instances, table, counts.latency_s),
                  area_um2=area_um2(counts.instances, table))


def op_energy_pj(actions: ActionCounts, op_cycles: float, counts: Counts, priced: Priced,
                 table: EnergyTable) -> dict[str, float]:
    """component -> pJ of one op: its actions priced, plus the static energy in proportion to
    its share of the busy cycles."""
    dyn = dynamic_energy_pj(actions, table)
    share = op_cycles / (counts.busy_cycles or 1.0)
    return {c: dyn.get(c, 0.0) + share * priced.static_pj.get(c, 0.0)
            for c in sorted({*dyn, *priced.static_pj})}


def priced_figures(priced: Priced) -> dict[str, Any]:
    """The summary entries that depend on the prices (the derived figures come from
    :func:`archsim.result.derive`)."""
    energy = priced.energy_pj
    return {
        "energy_j": math.fsum(energy.values()) * 1e-12,
        "dynamic_energy_j": math.fsum(priced.dynamic_pj.values()) * 1e-12,
        "static_energy_j": math.fsum(priced.static_pj.values()) * 1e-12,
        "energy_j_by_component": {c: e * 1e-12 for c, e in energy.items()},
        "area_mm2": math.fsum(priced.area_um2.values()) * 1e-6,
        "area_mm2_by_component": {c: a * 1e-6 for c, a in sorted(priced.area_um2.items())},
    }


def apply_prices(summary: dict[str, Any], counts: Counts, table: EnergyTable) -> Priced:
    """Fill ``summary`` (which holds the counted figures) with the priced and derived ones, and
    let the model add its own priced entries (e.g. energy per engine of a hetero design)."""
    from archsim.arch.registry import get_model_class
    from archsim.result import derive

    priced = price(counts, table)
    summary["energy_table"] = table.name
    summary["energy_units"] = table.units        # "relative": only ratios of energies mean something
    summary.update(priced_figures(priced))
    derive(summary)
    get_model_class(counts.architecture).price_summary(summary, table)
    return priced


# ----------------------------------------------------------------------------- what counts depend on

def count_inputs(hw: "Hardware") -> dict[str, Any]:
    """What a model's counts depend on: the architecture, the clock and the validated
    parameters (of every engine of a composite design); never the tables."""
    key: dict[str, Any] = {"architecture": hw.config.architecture, "clock_mhz": hw.config.clock_mhz,
                           "params": hw.params.model_dump(mode="json")}
    if hw.parts:
        key["parts"] = {name: count_inputs(part) for name, part in sorted(hw.parts.items())}
    return key


def count_key(hw: "Hardware") -> str:
    """Digest of :func:`count_inputs`: two designs with the same key count the same actions on the
    same trace, so one simulation serves both and only the prices differ."""
    from archsim import __version__

    text = json.dumps({"inputs": count_inputs(hw), "archsim": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# ----------------------------------------------------------------------------- re-pricing a result

def load_pricing(source: "EnergyTable | Hardware | str | Path") -> "tuple[EnergyTable, Hardware | None]":
    """A table, a hardware description, or a file holding either (a hardware YAML has
    ``architecture:``, a table YAML ``components:``)."""
    from archsim.config.hardware import Hardware, load_hardware
    from archsim.config.yaml_loader import load_yaml
    from archsim.energy.table import load_tables

    if isinstance(source, EnergyTable):
        return source, None
    if isinstance(source, Hardware):
        return source.table, source
    path = Path(source)
    data = load_yaml(path, resolve=False).data
    if isinstance(data, dict) and "architecture" in data:
        hw = load_hardware(path)
        return hw.table, hw
    if isinstance(data, dict) and "components" in data:
        return load_tables([path]), None
    raise PriceError(f"{path}: neither a hardware description (architecture:) nor an energy table (components:)")


def reprice(result: "Result | str | Path", source: "EnergyTable | Hardware | str | Path",
            details: bool = True) -> "Result":
    """``result`` priced again with another table (or the table of another hardware file of the
    same counted design), without simulating. A hardware file must count the same as the one
    simulated (same architecture, clock and parameters), else PriceError says what differs.
    ``details=False``: the summary only (no per-op energies, no table of sources), as a sweep's
    rows need."""
    import pandas as pd

    from archsim.result import Result, order_op_columns

    if not isinstance(result, Result):
        result = Result.load(result)
    if result.counts is None:
        raise PriceError("the result holds no counts (saved by an older archsim?): simulate it again")
    counts = result.counts
    table, hw = load_pricing(source)
    summary = copy.deepcopy(result.summary)
    if hw is not None:
        if count_key(hw) != counts.count_key:
            raise PriceError(f"{hw.path or hw.name}: counts differently from the design this result simulated "
                             f"({summary.get('hardware_file') or summary.get('hardware')}): architecture, clock "
                             "or params differ; only the energy tables may change when re-pricing (simulate instead)")
        summary["hardware"] = hw.name
        summary["hardware_file"] = str(hw.path) if hw.path else None
    priced = apply_prices(summary, counts, table)

    ops = result.ops
    if not details:
        return Result(summary=summary, ops=ops.iloc[:0], actions=result.actions.iloc[:0],
                      sources=pd.DataFrame(columns=["component", "quantity", "value", "unit", "source"]),
                      counts=counts)
    if len(ops):
        ops = ops.drop(columns=[c for c in ops.columns if c == "energy_pj" or c.startswith("energy_pj.")])
        per_op: dict[str, dict[str, dict[str, float]]] = {}
        for rec in result.actions.itertuples(index=False):
            per_op.setdefault(str(rec.op_id), {}).setdefault(rec.component, {})[rec.action] = float(rec.count)
        energies = [op_energy_pj(per_op.get(str(op_id), {}), cyc, counts, priced, table)
                    for op_id, cyc in zip(ops["op_id"], ops["cycles"])]
        cols = sorted({c for e in energies for c in e})
        priced_cols = pd.DataFrame({"energy_pj": [math.fsum(e.values()) for e in energies],
                                    **{f"energy_pj.{c}": [e.get(c, math.nan) for e in energies] for c in cols}},
                                   index=ops.index)
        ops = order_op_columns(pd.concat([ops, priced_cols], axis=1))
    sources = pd.DataFrame(table.sources() if len(result.sources) or len(result.ops) else [],
                           columns=["component", "quantity", "value", "unit", "source"])
    return Result(summary=summary, ops=ops, actions=result.actions, sources=sources, counts=counts)
