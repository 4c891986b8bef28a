"""Energy and area tables: the prices of actions and the area of components.

A table is a YAML file::

    name: example_45nm
    technology_nm: 45
    components:
      mac:
        actions:
          mac_int8: {energy_pj: 0.23, source: "Horowitz, ISSCC 2014, 45 nm: 0.2 pJ mult + 0.03 pJ add"}
        area_um2: {value: 282, source: "..."}
        static_power_mw: {value: 0.001, source: "..."}   # optional, per instance

Every entry carries a ``source:``; a lookup of an entry that is not there raises PriceError. A
table may use ``variables:`` and ``${...}`` like a hardware file; a hardware file can override the
table's variables (e.g. the ADC resolution) when it references the table.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping

import pydantic

from archsim.config.validation import Strict, validate
from archsim.config.yaml_loader import load_yaml_unresolved, resolve_document
from archsim.errors import ConfigError, PriceError


class Sourced(Strict):
    """A number with the place it came from."""

    value: float = pydantic.Field(ge=0)
    source: str = pydantic.Field(min_length=1)


class ActionPrice(Strict):
    energy_pj: float = pydantic.Field(ge=0, description="energy of one action, picojoules")
    source: str = pydantic.Field(min_length=1, description="paper, tool or 'assumed: <why>'")


class Component(Strict):
    description: str = ""
    actions: dict[str, ActionPrice] = pydantic.Field(default_factory=dict)
    area_um2: Sourced | None = None
    static_power_mw: Sourced | None = None


class TableFile(Strict):
    name: str
    technology_nm: float | None = pydantic.Field(default=None, gt=0)
    description: str = ""
    # "relative": the energies are only meaningful as ratios (e.g. a paper script's own units);
    # reports and the terminal then print them without SI units
    units: Literal["physical", "relative"] = "physical"
    variables: dict[str, Any] = pydantic.Field(default_factory=dict)
    components: dict[str, Component]


class EnergyTable:
    """One or more table files merged; component names must be unique across them."""

    def __init__(self, files: list[tuple[Path, TableFile]]):
        self.files = files
        self.components: dict[str, Component] = {}
        self.origin: dict[str, Path] = {}
        for path, table in files:
            for name, comp in table.components.items():
                if name in self.components:
                    raise ConfigError(f"{path}: components.{name}: also defined in {self.origin[name]}")
                self.components[name] = comp
                self.origin[name] = path

    @property
    def name(self) -> str:
        return "+".join(t.name for _, t in self.files)

    @property
    def units(self) -> str:
        """"relative" when any of the files is marked ``units: relative``, else "physical"."""
        return "relative" if any(t.units == "relative" for _, t in self.files) else "physical"

    def prefixed(self, prefix: str) -> "EnergyTable":
        """The same prices with every component named ``prefix/component`` (a heterogeneous
        system keeps each engine's components apart this way: ``snn/tppe``, ``ann/dram``)."""
        files = [(path, table.model_copy(update={
                    "name": f"{prefix}:{table.name}",
                    "components": {f"{prefix}/{c}": comp for c, comp in table.components.items()}}))
                 for path, table in self.files]
        return EnergyTable(files)

    @classmethod
    def merge(cls, tables: "list[EnergyTable]") -> "EnergyTable":
        """One table holding the components of all ``tables`` (names must not clash)."""
        return cls([f for t in tables for f in t.files])

    def action(self, component: str, action: str) -> ActionPrice:
        comp = self._component(component)
        try:
            return comp.actions[action]
        except KeyError:
            raise PriceError(
                f"{self.origin[component]}: components.{component}.actions.{action}: no price for "
                f"action '{action}' (the table has: {', '.join(sorted(comp.actions)) or 'none'})"
            ) from None

    def area_um2(self, component: str) -> Sourced:
        comp = self._component(component)
        if comp.area_um2 is None:
            raise PriceError(f"{self.origin[component]}: components.{component}.area_um2: "
                             "no area given for a component the hardware instantiates")
        return comp.area_um2

    def static_power_mw(self, component: str) -> Sourced | None:
        return self._component(component).static_power_mw

    def _component(self, component: str) -> Component:
        try:
            return self.components[component]
        except KeyError:
            files = ", ".join(str(p) for p, _ in self.files)
            raise PriceError(f"{files}: components.{component}: the energy table has no component "
                             f"'{component}'") from None

    def sources(self) -> list[dict[str, Any]]:
        """Every entry with its value, unit and source (for reports)."""
        rows = []
        for name, comp in self.components.items():
            for action, price in comp.actions.items():
                rows.append({"component": name, "quantity": f"action:{action}", "value": price.energy_pj,
                             "unit": "pJ", "source": price.source})
            if comp.area_um2:
                rows.append({"component": name, "quantity": "area", "value": comp.area_um2.value,
                             "unit": "um2", "source": comp.area_um2.source})
            if comp.static_power_mw:
                rows.append({"component": name, "quantity": "static_power", "value": comp.static_power_mw.value,
                             "unit": "mW", "source": comp.static_power_mw.source})
        return rows


def load_table_file(path: str | Path, variables: Mapping[str, Any] | None = None) -> TableFile:
    doc = load_yaml_unresolved(path)
    resolve_document(doc, overrides=dict(variables or {}))
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name' and 'components'")
    return validate(TableFile, doc.data, doc)


def load_tables(paths: list[str | Path], variables: Mapping[str, Any] | None = None) -> EnergyTable:
    return EnergyTable([(Path(p), load_table_file(p, variables)) for p in paths])
