"""Accuracy as a sweep metric: each design point's crossbar settings evaluated on a real network.

    # in a sweep spec
    accuracy: {model: small-vit, dataset: fashion-mnist, images: 200, seeds: 3}

For every design point of an ``imc`` sweep the worker builds the point's
:class:`archsim.noise.CrossbarSpec` (crossbar size, cell bits, weight/input/DAC/ADC bits, ADC
range, conductance range, programming/write/read noise, device variation, IR drop, drift time,
the K/V write transform) and hands it, with the model, dataset, image count and one seed, to an
**evaluator plug-in**; the row gets ``accuracy_mean`` and ``accuracy_std`` over the seeds (each
seed draws different programming, write and read noise) beside latency, energy and area.

* **Plug-ins** are found by name: the entry-point group ``archsim.accuracy`` first, then the
  built-in table :data:`BUILTIN` (``crossbar``: the PyTorch adapter of the noise engine,
  ``workloads.noise.evaluate:evaluate``). An evaluator is ``evaluate(model, dataset, images,
  seed, spec, options) -> accuracy`` (a fraction). ``archsim`` never imports torch: the plug-in
  is imported inside the worker, and only when a spec has an ``accuracy`` block.
* **Cache**: one JSON file per (evaluator, model, dataset, images, seed, options, crossbar
  settings), under ``cache_dir`` (default ``<output folder>/accuracy_cache``). Points that differ
  only in what the evaluation does not read (prices, clock, tile sizes, latency mode) share
  evaluations; a resumed sweep finds them there. ``accuracy_cached_seeds`` says how many of a
  row's seeds came from the cache.
* **Executors**: evaluations run inside :func:`archsim.sweep.worker.run_task`, so the local
  pool and Dask run them like the rest (Dask workers need the cache folder on a shared file
  system, as they need the hardware and trace files).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from pydantic import Field

from archsim.config.validation import Strict
from archsim.errors import ConfigError

ENTRY_POINT_GROUP = "archsim.accuracy"
BUILTIN = {"crossbar": "workloads.noise.evaluate:evaluate"}
CACHE_VERSION = 1


class AccuracyBlock(Strict):
    model: str = Field(min_length=1, description="a model the evaluator knows (e.g. small-vit, a registry name)")
    dataset: str = Field(default="fashion-mnist", description="test set the model is evaluated on")
    images: int = Field(default=200, ge=1, le=100_000, description="first N test images")
    seeds: int = Field(default=3, ge=1, le=100, description="noise draws; mean and std over them")
    evaluator: str = Field(default="crossbar", description="plug-in name (entry point group archsim.accuracy)")
    options: dict[str, Any] = Field(default_factory=dict, description="passed to the evaluator")
    cache_dir: str | None = Field(default=None, description="evaluation cache (default: <out>/accuracy_cache)")


def load_evaluator(name: str) -> Callable:
    """The evaluator registered as ``name`` (entry points first, then :data:`BUILTIN`)."""
    from importlib import import_module
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            return ep.load()
    if name in BUILTIN:
        module, _, attr = BUILTIN[name].partition(":")
        return getattr(import_module(module), attr)
    known = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)} | set(BUILTIN))
    raise ConfigError(f"accuracy.evaluator: unknown evaluator '{name}'; known: {', '.join(known)}")


def crossbar_settings(spec) -> dict[str, Any]:
    """Everything of a :class:`CrossbarSpec` as plain JSON values (the cache key's hardware part)."""
    out = {}
    for f in dataclasses.fields(spec):
        v = getattr(spec, f.name)
        out[f.name] = v.model_dump(mode="json") if hasattr(v, "model_dump") else v
    return out


def cache_key(block: AccuracyBlock, spec, seed: int) -> str:
    key = {"v": CACHE_VERSION, "evaluator": block.evaluator, "model": block.model, "dataset": block.dataset,
           "images": block.images, "seed": seed, "options": block.options, "crossbar": crossbar_settings(spec)}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _read(path: Path) -> float | None:
    try:
        return float(json.loads(path.read_text())["accuracy"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write(path: Path, record: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(record, f)
    os.replace(tmp, path)


def evaluate_point(hw, block: AccuracyBlock | dict, cache_dir: str | Path | None) -> dict[str, Any]:
    """The accuracy columns of one design point (``hw``: a loaded ``imc`` Hardware)."""
    from archsim.noise import CrossbarSpec

    block = block if isinstance(block, AccuracyBlock) else AccuracyBlock.model_validate(block)
    if hw.config.architecture != "imc":
        raise ConfigError(f"{hw.path or hw.name}: accuracy needs an 'imc' design (crossbar settings), got "
                          f"'{hw.config.architecture}'")
    spec = CrossbarSpec.from_params(hw.params)
    folder = Path(block.cache_dir or cache_dir) if (block.cache_dir or cache_dir) else None
    evaluator = None
    values, cached = [], 0
    for seed in range(block.seeds):
        key = cache_key(block, spec, seed)
        path = folder / f"{key}.json" if folder else None
        value = _read(path) if path is not None and path.exists() else None
        if value is None:
            evaluator = evaluator or load_evaluator(block.evaluator)
            value = float(evaluator(block.model, block.dataset, block.images, seed, spec, dict(block.options)))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"evaluator '{block.evaluator}' returned accuracy {value}, not a fraction")
            if path is not None:
                _write(path, {"accuracy": value, "model": block.model, "dataset": block.dataset,
                              "images": block.images, "seed": seed, "evaluator": block.evaluator})
        else:
            cached += 1
        values.append(value)
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"accuracy_mean": mean, "accuracy_std": std, "accuracy_min": min(values), "accuracy_max": max(values),
            "accuracy_seeds": len(values), "accuracy_cached_seeds": cached}
