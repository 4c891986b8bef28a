"""Report recipes: which traces to run on which hardware, and the published numbers to compare.

    # reports/examples.yaml
    name: examples
    title: Example traces on the example hardware
    runs:
      - {name: tiny-snn, trace: ../examples/tiny_snn.yaml, hw: ../hw_configs/mac_array_example.yaml}
      - {name: tiny-snn-32, trace: ../examples/tiny_snn.yaml, hw: ../hw_configs/mac_array_example.yaml,
         set: {params.rows: 32}}
    checks:
      - name: 32x32 array is faster
        metric: latency_s
        ratio: [tiny-snn, tiny-snn-32]     # value = metric(first) / metric(second)
        published: 1.6
        tolerance: 0.5                      # relative: |ours/published - 1| <= tolerance
        source: "where the published number comes from"

``skip_ops: [conv1, kind:linear, tag:encoding_layer]`` leaves ops out of a run (an op id, every op
of a kind, every op with that tag set; each must match something). Paths are relative to the
recipe file. A check either compares one run's metric (``run:``) or a ratio of two runs
(``ratio:``) with a published value; ``archsim reproduce`` writes every run's result
(``OUT/<recipe>/<run>/``), ``checks.json``, ``recipe.json`` and the report pages (``OUT/index.md``,
``OUT/index.html``) with the tables of paper vs archsim.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
from pydantic import Field, model_validator

from archsim.config.validation import Strict, validate
from archsim.config.yaml_loader import load_yaml
from archsim.errors import ConfigError


class Run(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    trace: str
    hw: str
    set: dict[str, Any] = Field(default_factory=dict)   # hardware overrides, dotted key paths
    seed: int | None = None
    skip_ops: list[str] = Field(default_factory=list)   # ops left out: ID, kind:KIND, tag:TAG


class Check(Strict):
    name: str
    metric: str                         # a summary key, e.g. latency_s, energy_j, cycles
    run: str | None = None
    ratio: tuple[str, str] | None = None
    published: float
    tolerance: float = Field(gt=0)      # relative
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _one_of(self):
        if (self.run is None) == (self.ratio is None):
            raise ValueError("give exactly one of 'run' or 'ratio'")
        return self


class TableRef(Strict):
    """Tables a main-job step writes (e.g. accuracy studies that need PyTorch), shown with the
    recipe: a JSON file ``{"tables": [{"title", "columns", "rows", "notes"}]}`` at ``path``,
    relative to the ``archsim reproduce`` output folder; ``command`` says how to make it."""
    title: str
    path: str
    command: str


class Recipe(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    description: str = ""
    runs: list[Run] = Field(min_length=1)
    checks: list[Check] = Field(default_factory=list)
    tables: list[TableRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self):
        names = [r.name for r in self.runs]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate run names {sorted(dupes)}")
        for c in self.checks:
            for ref in ([c.run] if c.run else list(c.ratio)):
                if ref not in names:
                    raise ValueError(f"check '{c.name}' refers to unknown run '{ref}'")
        return self


def load_recipe(path: str | Path) -> tuple[Recipe, Path]:
    path = Path(path)
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'name' and 'runs'")
    return validate(Recipe, doc.data, doc), path.parent


def metric_of(summary: dict[str, Any], metric: str) -> float:
    from archsim.keypath import KeyPathError, get_path

    try:
        return float(get_path(summary, metric))
    except KeyPathError:
        raise ConfigError(f"metric '{metric}' is not in the result summary") from None


def evaluate_checks(recipe: Recipe, summaries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for c in recipe.checks:
        if c.run:
            ours = metric_of(summaries[c.run], c.metric)
        else:
            ours = metric_of(summaries[c.ratio[0]], c.metric) / metric_of(summaries[c.ratio[1]], c.metric)
        rel = ours / c.published - 1.0 if c.published else float("inf")
        rows.append({"check": c.name, "metric": c.metric,
                     "runs": c.run or f"{c.ratio[0]} / {c.ratio[1]}",
                     "published": c.published, "archsim": ours, "ratio_to_published": ours / c.published
                     if c.published else float("nan"), "tolerance": c.tolerance,
                     "pass": abs(rel) <= c.tolerance, "source": c.source})
    return rows


def run_recipe(path: str | Path, out_dir: str | Path, *, progress: bool = False) -> dict[str, Any]:
    """Run every run of a recipe, write results under ``out_dir/<recipe>/<run>/`` and
    ``out_dir/<recipe>/checks.json``; return summaries and checks."""
    from archsim.cli.common import load_any_trace
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.trace.select import without_ops

    recipe, base = load_recipe(path)
    out = Path(out_dir) / recipe.name
    summaries = {}
    for run in recipe.runs:
        hw = load_hardware(base / run.hw, overrides=run.set)
        trace = without_ops(load_any_trace(base / run.trace), run.skip_ops,
                            f"{path}: run '{run.name}': skip_ops")
        result = simulate(trace, hw, progress=progress, seed=run.seed)
        result.save(out / run.name)
        summaries[run.name] = result.summary
    checks = evaluate_checks(recipe, summaries)
    (out / "checks.json").write_text(json.dumps(checks, indent=2))
    # the recipe itself, so that `archsim report` can rebuild the page from the files alone
    (out / "recipe.json").write_text(recipe.model_dump_json(indent=2))
    return {"recipe": recipe, "summaries": summaries, "checks": checks, "out": out}
