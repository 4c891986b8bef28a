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

Every check says what it compares against (``kind``, required) and where the value comes from
(``source``, required):

* ``published``: a number printed in a paper (or the authors' released results behind its figures);
* ``peer_tool``: the output of another simulator run on the same input (SCALE-Sim, SpikeSim);
* ``derived``: our own arithmetic (hand counts from the docs, research-note computations);
* ``invariant``: an identity that must hold whatever the numbers (e.g. a ratio of 1 at 1e-12);
* ``calibration``: a value a model parameter was fitted to. It names the parameter and the checks
  of the recipe that are held out from the fit: ``fits: {parameter: params.write.pulse_clocks,
  held_out: [check names]}``; a calibration that passes shows the fit worked, not that it predicts.

Only ``published`` and ``peer_tool`` checks count in the report's headline and the scoreboard;
the others are shown in their own columns.

A ratio check whose published value is not 1 measures an **effect** (``ratio - 1``): besides the
relative band it fails when archsim's effect has the other sign or is under half the published
effect (``EFFECT_FLOOR``), so a wide band cannot pass a ratio that shows no effect. ``effect: gain``
(ratio = treatment / baseline) or ``effect: reduction`` (ratio = baseline / treatment) says what the
ratio measures; both are factors above 1. Without ``effect:`` the rule applies all the same.

A check may read one op of a run instead of its summary: ``op: Layer_3`` takes ``metric`` from
that op's row of the run's per-op table (an ``ops.csv`` column, e.g. ``traffic_bytes.dram``), so a
whole-network run can be checked layer by layer.

``layer_figures:`` draws per-layer bars from the runs' per-op tables (one group of bars per op,
one bar per run, stacked by the kinds in ``stack``), with the published per-layer values beside
them where a source gives them (:class:`LayerFigure`, :mod:`archsim.report.layers`).

``sweeps:`` runs sweep specs (``{name, title, spec}``, :class:`SweepRef`) into
``OUT/<recipe>/sweeps/<name>/``; the recipe page shows each one as ``archsim report`` does.

``check_function: true`` on a run (a ``loas`` design) also computes every stored spike layer through
the FTP join and compares it with the dense product (``archsim simulate --check-function``); its
figures land in the run's summary as ``function_check.*`` (``passed`` is 1 or 0), for checks of kind
``invariant``.

``known_miss: {reason: ...}`` marks a check that misses for a stated reason; ``archsim reproduce``
exits non-zero on any other miss (``--lenient`` to only report them).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

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
    check_function: bool = False   # loas: also run the functional check (summary "function_check")


CheckKind = Literal["published", "peer_tool", "derived", "invariant", "calibration"]
KINDS: tuple[str, ...] = ("published", "peer_tool", "derived", "invariant", "calibration")
SCORED_KINDS = ("published", "peer_tool")   # the only kinds the headline counts
EFFECT_FLOOR = 0.5      # archsim's effect must be at least this share of the published effect


class Fit(Strict):
    """What a ``calibration`` check fitted, and which checks of the recipe are held out from it."""
    parameter: str = Field(min_length=1)
    held_out: list[str]


class KnownMiss(Strict):
    reason: str = Field(min_length=1)


class Check(Strict):
    name: str
    kind: CheckKind
    metric: str                         # a summary key, e.g. latency_s, energy_j, cycles (with op: an ops.csv column)
    op: str | None = None               # read the metric from this op's row of the per-op table
    run: str | None = None
    ratio: tuple[str, str] | None = None
    published: float
    tolerance: float = Field(gt=0)      # relative
    source: str = Field(min_length=1)
    effect: Literal["gain", "reduction"] | None = None
    fits: Fit | None = None
    known_miss: KnownMiss | None = None

    @model_validator(mode="after")
    def _one_of(self):
        if (self.run is None) == (self.ratio is None):
            raise ValueError("give exactly one of 'run' or 'ratio'")
        if (self.kind == "calibration") != (self.fits is not None):
            raise ValueError("a 'calibration' check names what it fits ('fits: {parameter, held_out}'), "
                             "and only a calibration does")
        if self.effect is not None:
            if self.ratio is None:
                raise ValueError("'effect' applies to a ratio check ('ratio: [a, b]')")
            if self.published <= 1.0:
                raise ValueError(f"'effect: {self.effect}' needs the published ratio as a factor above 1 "
                                 f"(got {self.published:g}): swap the two runs")
        return self

    @property
    def measures_effect(self) -> bool:
        """A ratio check of a change (published ratio not 1): the effect rule applies."""
        return self.ratio is not None and self.published != 1.0 and self.published > 0


def effect_verdict(published: float, ours: float) -> bool:
    """True when archsim's effect (``ours - 1``) has the published effect's sign and at least
    ``EFFECT_FLOOR`` of its size."""
    want, got = published - 1.0, ours - 1.0
    return want * got > 0 and abs(got) >= EFFECT_FLOOR * abs(want) * (1 - 1e-12)   # rounding at exactly half


class PublishedLayers(Strict):
    """Published per-layer values of a :class:`LayerFigure`: ``values[run]`` lists one value per op
    of the figure, in its order (``null`` where the source gives none); ``scale`` turns them into the
    metric's unit (e.g. 1024: KiB to bytes)."""
    source: str = Field(min_length=1)
    scale: float = Field(default=1.0, gt=0)
    values: dict[str, list[float | None]]


class LayerFigure(Strict):
    """Bars per layer from the runs' per-op tables (``ops.csv``): one group per op (``ops``, default
    every op of the first run), one bar per run (``runs``: legend label -> run name), each bar
    stacked by ``stack`` (label -> ops.csv column glob, summed, e.g. ``dram_values_bytes.*``) or the
    ``metric`` column alone. ``normalize``: divide each op's bars by that run's ``metric`` on the same
    op (the paper's normalised figures). ``published``: the source's value per op and run, drawn as
    markers and tabulated beside archsim's."""
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str
    metric: str
    unit: str = ""                       # of the metric (B, J, s, ...: scaled for display)
    runs: dict[str, str] = Field(min_length=1)
    stack: dict[str, str] = Field(default_factory=dict)
    ops: list[str] | None = None
    normalize: str | None = None
    label: str | None = None             # an ops.csv column added to each op's tick label (e.g. tag.conv)
    published: PublishedLayers | None = None
    note: str = ""


class TableRef(Strict):
    """Tables a main-job step writes (e.g. accuracy studies that need PyTorch), shown with the
    recipe: a JSON file ``{"tables": [{"title", "columns", "rows", "notes"}]}`` at ``path``,
    relative to the ``archsim reproduce`` output folder; ``command`` says how to make it."""
    title: str
    path: str
    command: str


class SweepRef(Strict):
    """A sweep the recipe runs (``archsim sweep SPEC``) into ``OUT/<recipe>/sweeps/<name>/``; its
    page (table, plots against each swept key, Pareto fronts) is part of the recipe's page."""
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = Field(min_length=1)
    spec: str = Field(min_length=1)      # the sweep spec, relative to the recipe


class Recipe(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = ""
    description: str = ""
    # "relative": every run's energies are only meaningful as ratios (reports print no SI unit);
    # default: as each run's energy tables say (`units:` in the table file)
    units: Literal["physical", "relative"] | None = None
    runs: list[Run] = Field(min_length=1)
    checks: list[Check] = Field(default_factory=list)
    tables: list[TableRef] = Field(default_factory=list)
    layer_figures: list[LayerFigure] = Field(default_factory=list)
    sweeps: list[SweepRef] = Field(default_factory=list)

    @model_validator(mode="after")
    def _names(self):
        names = [r.name for r in self.runs]
        dupes = {n for n in names if names.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate run names {sorted(dupes)}")
        checks = [c.name for c in self.checks]
        dupes = {n for n in checks if checks.count(n) > 1}
        if dupes:
            raise ValueError(f"duplicate check names {sorted(dupes)}")
        kinds = {c.name: c.kind for c in self.checks}
        for c in self.checks:
            for ref in ([c.run] if c.run else list(c.ratio)):
                if ref not in names:
                    raise ValueError(f"check '{c.name}' refers to unknown run '{ref}'")
            for held in (c.fits.held_out if c.fits else []):
                if held not in kinds:
                    raise ValueError(f"check '{c.name}': held_out names unknown check '{held}'")
                if kinds[held] == "calibration" or held == c.name:
                    raise ValueError(f"check '{c.name}': held-out check '{held}' is itself a calibration")
        sweeps = [w.name for w in self.sweeps]
        if len(set(sweeps)) != len(sweeps):
            raise ValueError(f"duplicate sweep names {sorted({n for n in sweeps if sweeps.count(n) > 1})}")
        figures = [f.name for f in self.layer_figures]
        if len(set(figures)) != len(figures):
            raise ValueError(f"duplicate layer figure names {sorted({n for n in figures if figures.count(n) > 1})}")
        for f in self.layer_figures:
            refs = list(f.runs.values()) + ([f.normalize] if f.normalize else []) + list(
                f.published.values if f.published else [])
            for ref in refs:
                if ref not in names:
                    raise ValueError(f"layer figure '{f.name}' refers to unknown run '{ref}'")
            if f.published and f.ops is not None:
                for run, vals in f.published.values.items():
                    if len(vals) != len(f.ops):
                        raise ValueError(f"layer figure '{f.name}': published values of '{run}' give {len(vals)} "
                                         f"values for {len(f.ops)} ops")
        return self

    def held_out_from(self, check: str) -> list[str]:
        """The calibrations (parameters) a check is held out from."""
        return [c.fits.parameter for c in self.checks if c.fits and check in c.fits.held_out]


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


def op_metric_of(ops, run: str, op: str, metric: str) -> float:
    """``metric`` (an ops.csv column) of op ``op`` in run ``run``'s per-op table."""
    if ops is None or run not in ops or ops[run] is None or not len(ops[run]):
        raise ConfigError(f"run '{run}': no per-op table to read op '{op}' from")
    table = ops[run]
    if metric not in table.columns:
        raise ConfigError(f"run '{run}': metric '{metric}' is not a column of the per-op table")
    row = table[table["op_id"] == op]
    if len(row) != 1:
        raise ConfigError(f"run '{run}': op '{op}' is not in the per-op table (or is there {len(row)} times)")
    return float(row[metric].iloc[0])


def evaluate_checks(recipe: Recipe, summaries: dict[str, dict[str, Any]],
                    ops: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per check. ``pass``: within the relative band and (for an effect) the effect rule;
    ``status``: ``pass``, ``known miss``, ``miss`` or ``known miss passes`` (the reason is stale).
    ``ops``: run name -> its per-op table (DataFrame), for the checks that read one op (``op:``)."""
    rows = []
    for c in recipe.checks:
        def value(run):
            return op_metric_of(ops, run, c.op, c.metric) if c.op else metric_of(summaries[run], c.metric)
        if c.run:
            ours = value(c.run)
        else:
            ours = value(c.ratio[0]) / value(c.ratio[1])
        rel = ours / c.published - 1.0 if c.published else float("inf")
        in_band = abs(rel) <= c.tolerance
        effect_ok = effect_verdict(c.published, ours) if c.measures_effect else None
        ok = in_band and effect_ok is not False
        if c.known_miss is None:
            status = "pass" if ok else "miss"
        else:
            status = "known miss passes" if ok else "known miss"
        rows.append({"check": c.name, "kind": c.kind, "metric": c.metric + (f" (op {c.op})" if c.op else ""),
                     "runs": c.run or f"{c.ratio[0]} / {c.ratio[1]}",
                     "published": c.published, "archsim": ours, "ratio_to_published": ours / c.published
                     if c.published else float("nan"), "tolerance": c.tolerance,
                     "within_tolerance": in_band,
                     "effect": (c.effect or "change") if c.measures_effect else None,
                     "effect_published": c.published - 1.0 if c.measures_effect else None,
                     "effect_archsim": ours - 1.0 if c.measures_effect else None,
                     "effect_ok": effect_ok,
                     "pass": ok, "status": status,
                     "known_miss": c.known_miss.reason if c.known_miss else None,
                     "fits": c.fits.parameter if c.fits else None,
                     "held_out": c.fits.held_out if c.fits else [],
                     "held_out_from": recipe.held_out_from(c.name),
                     "source": c.source})
    return rows


def tally(checks: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts for the headline: ``scored`` = published + peer-tool checks (the only ones the
    headline counts), ``by_kind[kind] = (passed, total)``, and the misses by status."""
    by_kind = {k: [0, 0] for k in KINDS}
    for c in checks:
        by_kind[c["kind"]][1] += 1
        by_kind[c["kind"]][0] += bool(c["pass"])
    scored = [c for c in checks if c["kind"] in SCORED_KINDS]
    status = [c["status"] for c in checks]
    return {"scored_passed": sum(c["pass"] for c in scored), "scored": len(scored),
            "by_kind": {k: tuple(v) for k, v in by_kind.items()},
            "misses": status.count("miss"), "known_misses": status.count("known miss"),
            "stale_known_misses": status.count("known miss passes")}


def headline(checks: list[dict[str, Any]]) -> str:
    """``P of N published/peer-tool checks within tolerance`` and the count of every other kind."""
    t = tally(checks)
    kinds = ", ".join(f"{k} {t['by_kind'][k][0]}/{t['by_kind'][k][1]}" for k in KINDS if t["by_kind"][k][1])
    text = (f"{t['scored_passed']} of {t['scored']} {' + '.join(SCORED_KINDS)} checks within tolerance"
            f" (by kind, passed/total: {kinds or 'no checks'})")
    if t["known_misses"] or t["misses"]:
        text += f"; {t['known_misses']} known miss(es), {t['misses']} unexpected miss(es)"
    if t["stale_known_misses"]:
        text += f"; {t['stale_known_misses']} known miss(es) now pass"
    return text


TRACE_METRICS = ("macs", "timesteps")   # summary keys a trace alone determines (besides trace_metrics.*)


def trace_only(metric: str, op: str | None = None) -> bool:
    """True when ``metric`` comes from the trace alone (no simulation needed)."""
    return op is None and (metric in TRACE_METRICS or metric.startswith("trace_metrics."))


def trace_summary(trace) -> dict[str, Any]:
    """The trace-determined part of a result summary: the same ``macs``, ``timesteps`` and
    ``trace_metrics`` as :func:`archsim.engine.simulate` writes (a test compares them)."""
    return {"macs": float(sum(op.macs * op.timesteps for op in trace.ops)),
            "timesteps": trace.header.timesteps, "trace_metrics": dict(trace.header.metrics)}


def trace_checks(path: str | Path) -> list[dict[str, Any]]:
    """Evaluate the recipe's checks whose metric the traces alone determine (parameter and MAC
    counts, frontend metrics), without simulating: the fast guard of a recipe. The other checks
    are left out (``run_recipe`` evaluates them all)."""
    from archsim.cli.common import load_any_trace
    from archsim.trace.select import without_ops

    recipe, base = load_recipe(path)
    checks = [c for c in recipe.checks if trace_only(c.metric, c.op)]
    needed = {r for c in checks for r in ([c.run] if c.run else c.ratio)}
    summaries = {}
    for run in recipe.runs:
        if run.name in needed:
            trace = without_ops(load_any_trace(base / run.trace), run.skip_ops, f"{path}: run '{run.name}': skip_ops")
            summaries[run.name] = trace_summary(trace)
    return evaluate_checks(recipe.model_copy(update={"checks": checks}), summaries)


def select_checks(recipe: Recipe, pattern: str, where: str = "recipe") -> Recipe:
    """The recipe cut to the checks whose name matches the regular expression ``pattern`` and
    the runs they read (a recipe guard that CI can afford); an error when none matches."""
    import re

    rx = re.compile(pattern)
    checks = [c for c in recipe.checks if rx.search(c.name)]
    if not checks:
        raise ConfigError(f"{where}: no check name matches {pattern!r}")
    needed = {r for c in checks for r in ([c.run] if c.run else c.ratio)}
    figures = [f for f in recipe.layer_figures if set(f.runs.values()) | {f.normalize or next(iter(f.runs.values()))}
               <= needed]    # a figure stays when every run it draws is run
    return recipe.model_copy(update={"checks": checks, "runs": [r for r in recipe.runs if r.name in needed],
                                     "layer_figures": figures, "sweeps": []})


def simulate_run(run: Run, base: Path, where: str, *, progress: bool = False, details: bool = True):
    """One run of a recipe: its hardware (with ``set``), its trace (less ``skip_ops``), simulated;
    with ``check_function``, the functional check's figures in ``summary["function_check"]``."""
    from archsim.cli.common import load_any_trace
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.trace.select import without_ops

    hw = load_hardware(base / run.hw, overrides=run.set)
    trace = without_ops(load_any_trace(base / run.trace), run.skip_ops, f"{where}: run '{run.name}': skip_ops")
    result = simulate(trace, hw, progress=progress, seed=run.seed, details=details)
    if run.check_function:
        from archsim.arch.loas_function import check_function
        result.summary["function_check"] = check_function(trace, hw, seed=run.seed).summary()
    return result


def run_recipe(path: str | Path, out_dir: str | Path, *, progress: bool = False,
               select: str | None = None) -> dict[str, Any]:
    """Run every run of a recipe, write results under ``out_dir/<recipe>/<run>/`` and
    ``out_dir/<recipe>/checks.json``; return summaries and checks. ``select``: a regular
    expression; only the checks whose name matches it, and the runs they need, are run."""
    recipe, base = load_recipe(path)
    if select is not None:
        recipe = select_checks(recipe, select, str(path))
    out = Path(out_dir) / recipe.name
    # the sweeps' plans first: a bad spec or a missing trace stops the recipe before anything runs
    from archsim.sweep.plan import make_plan
    plans = [make_plan(base / sweep.spec) for sweep in recipe.sweeps]
    summaries, ops = {}, {}
    for run in recipe.runs:
        result = simulate_run(run, base, str(path), progress=progress)
        result.save(out / run.name)
        summaries[run.name] = result.summary
        ops[run.name] = result.ops
    checks = evaluate_checks(recipe, summaries, ops)
    (out / "checks.json").write_text(json.dumps(checks, indent=2))
    for sweep, plan in zip(recipe.sweeps, plans):     # resumable: a second reproduce runs only what is missing
        from archsim.sweep.runner import run_sweep
        run_sweep(None, out / "sweeps" / sweep.name, jobs=1, progress=progress, plan=plan)
    # the recipe itself, so that `archsim report` can rebuild the page from the files alone
    (out / "recipe.json").write_text(recipe.model_dump_json(indent=2))
    return {"recipe": recipe, "summaries": summaries, "checks": checks, "out": out}
