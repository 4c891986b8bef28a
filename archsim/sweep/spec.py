"""Sweep specs: which hardware to start from, which traces to run, which keys to vary.

    # examples/sweeps/mac_array_grid.yaml
    name: mac-array-grid
    hardware: ../../hw_configs/mac_array_example.yaml     # one file or a list of files
    traces: [../tiny_snn.yaml]
    sweep:
      grid:                                   # every combination
        params.rows: [8, 16, 32]
        params.cols: {range: [8, 32], step: 8}
      zip:                                    # varied together, one value of each at a time
        params.sram_kib: {log: [64, 512], factor: 2}
        params.dram_bandwidth_gbps: [6.4, 12.8, 25.6, 51.2]
      random: {samples: 4, seed: 0, axes: {clock_mhz: {uniform: [200, 800]}}}
    constraints:
      - rows * cols <= 512                    # skip points for which an expression is false

Keys are dotted paths into the hardware YAML. The blocks (``grid``, ``zip``, ``points``,
``random``) are crossed with each other, and every design point runs every trace. This module
parses and expands a spec into design points (plain dicts of key -> value); checking the points
against the hardware files is :mod:`archsim.sweep.plan`. See docs/sweeps.md.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import Discriminator, Field, Tag

from archsim.config.validation import Strict, validate
from archsim.config.yaml_loader import Document, load_yaml
from archsim.errors import ConfigError

from archsim.sweep.accuracy import AccuracyBlock  # noqa: E402  (no torch: the plug-in loads in the worker)

MAX_POINTS = 1_000_000   # design points per sweep; more is almost surely a typo in a range


class RandomBlock(Strict):
    samples: int = Field(ge=1, description="number of random design points")
    seed: int = Field(default=0, description="seed of the generator (same seed, same points)")
    axes: dict[str, Any] = Field(min_length=1)


class SweepBlock(Strict):
    grid: dict[str, Any] = Field(default_factory=dict)
    zip: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=list)
    points: list[dict[str, Any]] = Field(default_factory=list)
    random: RandomBlock | None = None


class TraceFamily(Strict):
    """One workload recorded at several timesteps and weight sparsities (a trace that stores real
    tensors cannot be moved to another T or sparsity): the workload axes pick, per design point,
    the member recorded at the point's values (archsim.sweep.plan.select_member)."""
    family: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="the name the runs carry as their trace")
    members: list[str] = Field(min_length=2, description="trace files of the same network at other T / sparsity")


def _trace_entry_kind(value: Any) -> str:
    return "family" if isinstance(value, dict) or isinstance(value, TraceFamily) else "file"


# one trace entry: a file, or a family (a mapping); the discriminator gives one error per bad entry
TraceEntry = Annotated[Union[Annotated[str, Tag("file")], Annotated[TraceFamily, Tag("family")]],
                       Discriminator(_trace_entry_kind)]


class SweepSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    hardware: str | list[str]
    traces: Annotated[Union[Annotated[str, Tag("file")], Annotated[list[TraceEntry], Tag("list")]],
                      Discriminator(lambda v: "list" if isinstance(v, list) else "file")]
    seed: int | None = None             # seed of synthetic tensors (default: each trace's own)
    sweep: SweepBlock = Field(default_factory=SweepBlock)
    constraints: list[str] = Field(default_factory=list)
    accuracy: "AccuracyBlock | None" = None      # archsim.sweep.accuracy: accuracy of each point

    @property
    def hardware_files(self) -> list[str]:
        return [self.hardware] if isinstance(self.hardware, str) else list(self.hardware)

    @property
    def trace_files(self) -> list["str | TraceFamily"]:
        return [self.traces] if isinstance(self.traces, str) else list(self.traces)

    def trace_files_json(self) -> list:
        return [t if isinstance(t, str) else t.model_dump() for t in self.trace_files]


@dataclass
class LoadedSpec:
    spec: SweepSpec
    path: Path
    doc: Document

    @property
    def base(self) -> Path:
        return self.path.parent

    def where(self, *key_path: Any) -> str:
        return self.doc.locate(key_path)


def load_spec(path: str | Path) -> LoadedSpec:
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name', 'hardware', 'traces' and 'sweep'")
    spec = validate(SweepSpec, doc.data, doc)
    loaded = LoadedSpec(spec=spec, path=path, doc=doc)
    for key, files in (("hardware", spec.hardware_files), ("traces", spec.trace_files)):
        if not files:
            raise ConfigError(f"{loaded.where(key)}: {key}: give at least one file")
    return loaded


# ----------------------------------------------------------------------------- axis values

def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _tidy(x: float, integral: bool) -> int | float:
    """Round away float noise (0.1 * 3 -> 0.3); keep ints ints."""
    if integral and abs(x - round(x)) < 1e-9 * max(1.0, abs(x)):
        return int(round(x))
    return float(f"{x:.12g}")


def axis_values(raw: Any, where: str, key: str) -> list[Any]:
    """The values of one axis: a list, ``{range: [start, stop], step: s | num: n}`` (stop
    included when a step lands on it) or ``{log: [start, stop], factor: f | num: n}``
    (geometric steps). Raise ConfigError for anything else or an empty axis."""
    def fail(msg: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {msg}")

    if isinstance(raw, list):
        values = list(raw)
    elif isinstance(raw, dict) and ("range" in raw or "log" in raw):
        kind = "range" if "range" in raw else "log"
        extra = set(raw) - {kind, "step", "num", "factor"}
        if extra:
            raise fail(f"unknown key(s) {sorted(extra)} in a {kind} axis")
        ends = raw[kind]
        if not (isinstance(ends, list) and len(ends) == 2 and all(_number(e) for e in ends)):
            raise fail(f"{kind}: expected [start, stop] numbers, got {ends!r}")
        start, stop = ends
        step_key = "step" if kind == "range" else "factor"
        given = [k for k in (step_key, "num") if k in raw]
        if len(given) != 1:
            raise fail(f"a {kind} axis takes exactly one of '{step_key}' or 'num'")
        integral = all(isinstance(e, int) for e in ends) and isinstance(raw.get(step_key, 1), int)
        if "num" in raw:
            num = raw["num"]
            if not isinstance(num, int) or isinstance(num, bool) or num < 1:
                raise fail(f"num: expected an integer >= 1, got {num!r}")
            if num > MAX_POINTS:
                raise fail(f"num: {num} values, more than the limit of {MAX_POINTS} per sweep")
            if kind == "log" and (start <= 0 or stop <= 0):
                raise fail(f"log: start and stop must be > 0, got {ends!r}")
            if num == 1:
                values = [start]
            elif kind == "range":
                values = [start + (stop - start) * i / (num - 1) for i in range(num)]
            else:
                values = [start * (stop / start) ** (i / (num - 1)) for i in range(num)]
        else:
            step = raw[step_key]
            if not _number(step) or (kind == "range" and step <= 0) or (kind == "log" and step <= 1):
                bound = "> 0" if kind == "range" else "> 1"
                raise fail(f"{step_key}: expected a number {bound}, got {step!r}")
            if kind == "log" and start <= 0:
                raise fail(f"log: start must be > 0, got {start!r}")
            limit = stop + 1e-9 * abs(step) if kind == "range" else stop * (1 + 1e-9)
            try:
                count = (math.floor((limit - start) / step) if kind == "range"
                         else math.floor(math.log(limit / start) / math.log(step))) + 1
            except (ArithmeticError, ValueError):
                raise fail(f"cannot count the values of {raw!r}") from None
            if count > MAX_POINTS:
                raise fail(f"the axis has {count} values, more than the limit of {MAX_POINTS} per sweep; "
                           "raise the step or narrow the range")
            values, x, i = [], start, 0
            while x <= limit and len(values) <= MAX_POINTS:
                values.append(x)
                i += 1
                x = start + i * step if kind == "range" else start * step ** i
        values = [_tidy(v, integral) for v in values]
    else:
        raise fail(f"expected a list of values, {{range: [start, stop], step: s}} or "
                   f"{{log: [start, stop], factor: f}} (or num: n instead of step/factor), got {raw!r}")
    if not values:
        raise fail("empty axis: it gives no values, so the sweep would have no points")
    return values


def random_values(block: RandomBlock, where_of) -> list[dict[str, Any]]:
    """``block.samples`` points, each axis drawn independently from its distribution:
    ``{uniform: [lo, hi]}``, ``{loguniform: [lo, hi]}``, ``{randint: [lo, hi]}`` (both ends
    included) or ``{choice: [a, b, ...]}``."""
    import numpy as np

    draws = {}
    for key, dist in block.axes.items():
        where = f"{where_of(key)}: sweep.random.axes"
        if not (isinstance(dist, dict) and len(dist) == 1):
            raise ConfigError(f"{where}: {key}: expected one of {{uniform: [lo, hi]}}, {{loguniform: [lo, hi]}}, "
                              f"{{randint: [lo, hi]}} or {{choice: [values]}}, got {dist!r}")
        (kind, arg), = dist.items()
        if kind == "choice":
            if not isinstance(arg, list) or not arg:
                raise ConfigError(f"{where}: {key}: choice: expected a non-empty list, got {arg!r}")
        elif kind in ("uniform", "loguniform", "randint"):
            if not (isinstance(arg, list) and len(arg) == 2 and all(_number(a) for a in arg) and arg[0] <= arg[1]):
                raise ConfigError(f"{where}: {key}: {kind}: expected [lo, hi] numbers with lo <= hi, got {arg!r}")
            if kind == "loguniform" and arg[0] <= 0:
                raise ConfigError(f"{where}: {key}: loguniform: lo must be > 0, got {arg[0]!r}")
            if kind == "randint" and not all(isinstance(a, int) for a in arg):
                raise ConfigError(f"{where}: {key}: randint: expected integers, got {arg!r}")
        else:
            raise ConfigError(f"{where}: {key}: unknown distribution '{kind}'; use uniform, loguniform, "
                              "randint or choice")
        draws[key] = (kind, arg)

    rng = np.random.default_rng(block.seed)
    points = []
    for _ in range(block.samples):
        point = {}
        for key, (kind, arg) in draws.items():
            if kind == "choice":
                point[key] = arg[int(rng.integers(len(arg)))]
            elif kind == "uniform":
                point[key] = _tidy(float(rng.uniform(arg[0], arg[1])), False)
            elif kind == "loguniform":
                point[key] = _tidy(float(math.exp(rng.uniform(math.log(arg[0]), math.log(arg[1])))), False)
            else:
                point[key] = int(rng.integers(arg[0], arg[1], endpoint=True))
        points.append(point)
    return points


# ----------------------------------------------------------------------------- expansion

def expand(loaded: LoadedSpec) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """All design points of the spec (before constraints), as dicts key -> value in the order
    the keys are written, and the swept keys (in that order) with where each is written
    (``file:line: sweep.grid.params.rows``). Blocks are crossed in the order grid, zip,
    points, random; the last key of the grid varies fastest."""
    block = loaded.spec.sweep
    factors: list[list[dict[str, Any]]] = []
    owner: dict[str, str] = {}
    located: dict[str, str] = {}

    def claim(key: str, block_name: str, where: str) -> None:
        located.setdefault(key, f"{where}: sweep.{block_name}.{key}")
        if not isinstance(key, str) or not key or key.startswith(".") or key.endswith(".") or ".." in key:
            raise ConfigError(f"{where}: {block_name}: {key!r} is not a dotted key path (e.g. params.rows)")
        if key in owner and owner[key] != block_name:
            raise ConfigError(f"{where}: {key}: varied in both '{owner[key]}' and '{block_name}'; "
                              "vary each key in one block")
        if key in owner and block_name in ("grid", "zip"):
            raise ConfigError(f"{where}: {key}: varied twice in '{block_name}'")
        owner[key] = block_name

    if block.grid:
        axes = []
        for key, raw in block.grid.items():
            where = loaded.where("sweep", "grid", key)
            claim(key, "grid", where)
            axes.append([(key, v) for v in axis_values(raw, where, f"sweep.grid.{key}")])
        factors.append([dict(combo) for combo in itertools.product(*axes)])

    groups = [block.zip] if isinstance(block.zip, dict) else block.zip
    for g, group in enumerate(groups):
        prefix = ("sweep", "zip") if isinstance(block.zip, dict) else ("sweep", "zip", g)
        if not group:
            raise ConfigError(f"{loaded.where(*prefix)}: sweep.zip: empty group")
        columns, lengths = {}, {}
        for key, raw in group.items():
            where = loaded.where(*prefix, key)
            claim(key, "zip", where)
            columns[key] = axis_values(raw, where, f"sweep.zip.{key}")
            lengths[key] = len(columns[key])
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k}: {n}" for k, n in lengths.items())
            raise ConfigError(f"{loaded.where(*prefix)}: sweep.zip: the keys of a zip group need the same "
                              f"number of values, got {detail}")
        n = next(iter(lengths.values()))
        factors.append([{k: columns[k][i] for k in columns} for i in range(n)])

    if block.points:
        for i, point in enumerate(block.points):
            where = loaded.where("sweep", "points", i)
            if not point:
                raise ConfigError(f"{where}: sweep.points[{i}]: empty point")
            for key in point:
                claim(key, "points", where)
        factors.append([dict(p) for p in block.points])

    if block.random is not None:
        for key in block.random.axes:
            claim(key, "random", loaded.where("sweep", "random", "axes", key))
        factors.append(random_values(block.random, lambda k: loaded.where("sweep", "random", "axes", k)))

    total = math.prod(len(f) for f in factors)
    if total > MAX_POINTS:
        sizes = " x ".join(str(len(f)) for f in factors)
        raise ConfigError(f"{loaded.where('sweep')}: sweep: {sizes} = {total} design points, more than "
                          f"{MAX_POINTS}; split the sweep or use 'random' sampling")
    points = [{k: v for part in combo for k, v in part.items()} for combo in itertools.product(*factors)]
    return points, located

