"""Hardware descriptions: YAML files that name a registered hardware model and set it up.

    architecture: mac_array          # a registered model (``archsim list``)
    name: example-mac-array
    clock_mhz: 500
    technology_nm: 45
    energy:
      tables: [energy/example_45nm.yaml]   # relative to this file
      variables: {}                        # overrides of the tables' variables
    variables: {ROWS: 16}
    params:                                # validated by the model's own schema
      rows: ${ROWS}
      cols: 16

See ``docs/hardware-config.md``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import pydantic

from archsim.config.validation import Strict, check_ceilings, validate
from archsim.config.yaml_loader import (Document, format_key_path, load_yaml_unresolved, resolve_document,
                                        resolve_reference)
from archsim.errors import ConfigError
from archsim.keypath import set_path


class EnergyRef(Strict):
    tables: list[str] = pydantic.Field(min_length=1)   # table files, relative to the hardware file
    variables: dict[str, Any] = pydantic.Field(default_factory=dict)


class HardwareConfig(Strict):
    architecture: str = pydantic.Field(min_length=1)
    name: str = pydantic.Field(min_length=1)
    description: str = ""
    citation: str = ""
    clock_mhz: float = pydantic.Field(gt=0)
    technology_nm: float | None = pydantic.Field(default=None, gt=0)
    energy: EnergyRef
    variables: dict[str, Any] = pydantic.Field(default_factory=dict)
    params: dict[str, Any] = pydantic.Field(default_factory=dict)


@dataclass
class Hardware:
    """A validated hardware description: the config, the model's params, the priced tables."""

    config: HardwareConfig
    params: Any                  # instance of the model's Params class
    model_cls: type
    table: Any                   # archsim.energy.table.EnergyTable
    path: Path | None = None
    raw: dict | None = None      # the resolved YAML data (for reports and sweeps)
    parts: dict[str, "Hardware"] = field(default_factory=dict)   # engines of a composite design (hetero)

    @property
    def name(self) -> str:
        return self.config.name

    def create_model(self):
        return self.model_cls(self)


def resolve_hardware(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Document:
    """Load a hardware YAML, apply ``overrides`` (dotted key paths, e.g. ``params.rows`` or
    ``variables.ROWS``) and resolve variables, without validating. Sweeps evaluate their
    constraints on this before :func:`build_hardware` validates the point."""
    path = Path(path)
    doc = load_yaml_unresolved(path)     # a fresh copy: the overrides below may change it
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    data = doc.data
    where = dict(doc.where)
    for dotted, value in (overrides or {}).items():
        try:
            set_path(data, dotted, value)
        except (IndexError, ValueError, TypeError, KeyError):
            raise ConfigError(f"--set {dotted}: no such key path in {path} (a list index out of range "
                              "or a key below a plain value)") from None
        # errors about an overridden key blame the option, not the line of the file
        key_path = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
        for k in [k for k in where if k[:len(key_path)] == key_path]:
            del where[k]
        where[key_path] = f"{path}: --set {dotted}"
    doc = Document(data=data, path=path, where=where)
    resolve_document(doc)
    return doc


def load_hardware(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Hardware:
    """Load, resolve and validate a hardware YAML. ``overrides`` maps dotted key paths (e.g.
    ``params.rows`` or ``variables.ROWS``) to values applied before variables are resolved.
    The design's name follows the overrides (:func:`derived_name`)."""
    doc = resolve_hardware(path, overrides)
    if overrides:
        doc.data["name"] = derived_name(resolve_hardware(path).data, doc.data, overrides)
    return build_hardware(doc)


def derived_name(base: dict, changed: dict, overrides: Mapping[str, Any]) -> str:
    """The name of a design after ``overrides``: as resolved when the overrides set the name or
    change it (``name: mac-array-${ARRAY}x${ARRAY}`` with ``variables.ARRAY=32``); otherwise the
    base name with the overrides that changed something, ``mac-array-16x16 (rows=32)``, so that
    two different designs never share a name. (Sweeps name their points by their own columns.)"""
    name = changed.get("name")
    if not isinstance(name, str) or "name" in overrides or name != base.get("name"):
        return name
    if {k: v for k, v in base.items() if k != "name"} == {k: v for k, v in changed.items() if k != "name"}:
        return name
    last = [k.rsplit(".", 1)[-1] for k in overrides]
    parts = [f"{short if last.count(short) == 1 else key}={_yaml_scalar(v)}"
             for (key, v), short in zip(overrides.items(), last)]
    return f"{name} ({', '.join(parts)})"


def _yaml_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _energy_tables(energy: EnergyRef, doc: Document):
    from archsim.energy.table import load_tables

    paths = [resolve_reference(t, doc.path, None, f"{doc.locate(('energy', 'tables', i))}: energy.tables[{i}]")
             for i, t in enumerate(energy.tables)]
    return load_tables(paths, energy.variables)


def with_tables(hw: Hardware, path: str | Path, overrides: Mapping[str, Any] | None = None) -> Hardware:
    """``load_hardware(path, overrides)`` for a point that differs from the already loaded design
    ``hw`` only in its energy tables (a sweep over table variables or files: the same count key),
    without validating its configuration and parameters again. A composite design (engines with
    tables of their own) is loaded whole."""
    if hw.parts:
        return load_hardware(path, overrides)
    doc = resolve_hardware(path, overrides)
    if overrides:
        doc.data["name"] = derived_name(resolve_hardware(path).data, doc.data, overrides)
    energy = validate(EnergyRef, doc.data.get("energy"), doc, prefix=("energy",))
    out = replace(hw, config=hw.config.model_copy(update={"energy": energy, "name": doc.data.get("name", hw.name)}),
                  table=_energy_tables(energy, doc), raw=doc.data, path=doc.path)
    hw.model_cls.check(out)  # cross-field checks that need the table
    return out


def build_hardware(doc: Document) -> Hardware:
    """Validate a resolved hardware document (from :func:`resolve_hardware`) into a Hardware."""
    from archsim.arch.registry import get_model_class

    path = doc.path
    config = validate(HardwareConfig, doc.data, doc)
    try:
        model_cls = get_model_class(config.architecture)
    except KeyError as exc:
        raise ConfigError(f"{doc.locate(('architecture',))}: architecture: {exc.args[0]}") from None
    params = validate(model_cls.Params, config.params, doc, prefix=("params",))
    check_ceilings(params, doc, ("params",))
    table = _energy_tables(config.energy, doc)
    parts, table = model_cls.assemble(params, table, path, doc)   # a composite design's engines
    hw = Hardware(config=config, params=params, model_cls=model_cls, table=table, path=path, raw=doc.data,
                  parts=parts)
    model_cls.check(hw)  # cross-field checks that need the table too
    return hw
