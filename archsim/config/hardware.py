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

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import pydantic

from archsim.config.validation import Strict, validate
from archsim.config.yaml_loader import Document, load_yaml_unresolved, resolve_document
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
    for dotted, value in (overrides or {}).items():
        set_path(data, dotted, value)
    doc = Document(data=data, path=path, where=doc.where)
    resolve_document(doc)
    return doc


def load_hardware(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Hardware:
    """Load, resolve and validate a hardware YAML. ``overrides`` maps dotted key paths (e.g.
    ``params.rows`` or ``variables.ROWS``) to values applied before variables are resolved."""
    return build_hardware(resolve_hardware(path, overrides))


def build_hardware(doc: Document) -> Hardware:
    """Validate a resolved hardware document (from :func:`resolve_hardware`) into a Hardware."""
    from archsim.arch.registry import get_model_class
    from archsim.energy.table import load_tables

    path = doc.path
    config = validate(HardwareConfig, doc.data, doc)
    try:
        model_cls = get_model_class(config.architecture)
    except KeyError as exc:
        raise ConfigError(f"{doc.locate(('architecture',))}: architecture: {exc.args[0]}") from None
    params = validate(model_cls.Params, config.params, doc, prefix=("params",))
    table_paths = [path.parent / t for t in config.energy.tables]
    for i, table_path in enumerate(table_paths):
        if not table_path.exists():
            raise ConfigError(f"{doc.locate(('energy', 'tables', i))}: energy.tables[{i}]: "
                              f"file not found: {table_path}")
    table = load_tables(table_paths, config.energy.variables)
    parts, table = model_cls.assemble(params, table, path, doc)   # a composite design's engines
    hw = Hardware(config=config, params=params, model_cls=model_cls, table=table, path=path, raw=doc.data,
                  parts=parts)
    model_cls.check(hw)  # cross-field checks that need the table too
    return hw
