"""The content of report pages: one simulation result, the outcome of report recipes (paper vs
archsim), and a sweep. Each ``*_blocks`` function returns document blocks; figures are drawn
through a :class:`~archsim.report.document.FigureWriter` (``figures=None``: tables only).

``report_dir(path)`` tells which kind of directory ``path`` is and writes its page.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from archsim.errors import ArchsimError
from archsim.report import plots
from archsim.report.document import (Details, FigureWriter, Heading, Link, Page, Paragraph, Strong, Table,
                                     write_report)

SUMMARY_ROWS = [("latency_s", 1e3, "latency", "ms"), ("energy_j", 1e6, "energy", "µJ"),
                ("area_mm2", 1, "area", "mm²"), ("power_w", 1e3, "power", "mW"), ("cycles", 1, "cycles", ""),
                ("ops", 1e-9, "dense ops", "GOP"), ("tops", 1, "throughput", "TOPS"),
                ("tops_per_w", 1, "efficiency", "TOPS/W"), ("tops_per_mm2", 1, "area efficiency", "TOPS/mm²"),
                ("edap_j_s_mm2", 1, "EDAP", "J·s·mm²")]
RUN_COLUMNS = [("latency_s", 1e3, "latency (ms)"), ("energy_j", 1e6, "energy (µJ)"), ("area_mm2", 1, "area (mm²)"),
               ("tops_per_w", 1, "TOPS/W"), ("tops_per_mm2", 1, "TOPS/mm²"), ("edap_j_s_mm2", 1, "EDAP (J·s·mm²)")]
SWEEP_METRICS = ["latency_s", "energy_j", "area_mm2", "edap_j_s_mm2"]
MAX_SWEEP_KEYS_PLOTTED = 8
MAX_TABLE_ROWS = 40


# ----------------------------------------------------------------------------- one result

def _by_component_table(summary: dict[str, Any]) -> Table:
    energy = summary.get("energy_j_by_component") or {}
    area = summary.get("area_mm2_by_component") or {}
    e_total, a_total = summary.get("energy_j") or 1.0, summary.get("area_mm2") or 1.0
    rows = []
    for c in sorted({*energy, *area}, key=lambda c: -energy.get(c, 0.0)):
        e, a = energy.get(c), area.get(c)
        rows.append([c, None if e is None else e * 1e6, None if e is None else 100 * e / e_total,
                     None if a is None else a, None if a is None else 100 * a / a_total])
    return Table(["component", "energy (µJ)", "energy (%)", "area (mm²)", "area (%)"], rows)


def _by_engine_table(summary: dict[str, Any]) -> Table:
    """A heterogeneous design (``hetero``): each engine's share, and the link between them."""
    rows = []
    for name, e in summary["engines"].items():
        rows.append([name, f"{e['architecture']} ({e['hardware']})", e["copies"], e["ops"], e["macs"] * 1e-9,
                     e["busy_s"] * 1e3, 100 * e["utilization_time"], e["energy_j"] * 1e6, e["area_mm2"]])
    link = summary.get("link")
    if link:
        rows.append(["link", f"{link['transfers']} transfers, {link['bytes'] / 1e6:.4g} MB", None, None, None,
                     link["busy_s"] * 1e3, None, link["energy_j"] * 1e6, None])
    return Table(["engine", "model", "copies", "ops", "GMAC", "busy (ms)", "busy (% of latency)", "energy (µJ)",
                  "area (mm²)"], rows)


def result_blocks(result, figures: FigureWriter | None, name: str = "result", heading_level: int = 2) -> list:
    """Summary figures, energy/area by component, per-layer breakdown, per-op table, prices."""
    s = result.summary
    blocks: list = [Paragraph(f"Trace {s['trace']} on {s['hardware']} (model {s['architecture']}, "
                              f"{s['clock_mhz']:g} MHz, energy table {s['energy_table']}).")]
    blocks.append(Table(["figure", "value", "unit"],
                        [[label, s[key] * scale, unit] for key, scale, label, unit in SUMMARY_ROWS if key in s]))
    if s.get("engines"):
        blocks.append(Heading("By engine", heading_level + 1))
        blocks.append(_by_engine_table(s))
    blocks.append(Heading("Energy and area by component", heading_level + 1))
    blocks.append(_by_component_table(s))
    if figures is not None:
        blocks.append(figures.add(f"{name}-components", lambda p: plots.component_bars(
            s.get("energy_j_by_component") or {}, s.get("area_mm2_by_component") or {}, p,
            f"{s['trace']} on {s['hardware']}"), "Energy and area by component"))
    ops = result.ops
    if len(ops):
        blocks.append(Heading("Per-layer latency and energy", heading_level + 1))
        if figures is not None:
            blocks.append(figures.add(f"{name}-layers", lambda p: plots.per_op_breakdown(
                ops, s.get("clock_mhz"), p, f"{s['trace']} on {s['hardware']}"),
                "Latency (compute and memory stall) and energy by component of each op"))
        cols = [c for c in ("op_id", "kind", "engine", "timesteps", "cycles", "latency_s", "energy_pj", "utilization")
                if c in ops.columns]
        rows = [[r[c] for c in cols] for r in ops[cols].to_dict("records")]
        blocks.append(Details(f"Per-op table ({len(ops)} ops)", [Table(cols, rows)]))
    if len(result.sources):
        src = result.sources
        blocks.append(Details("Prices used (energy/area table entries and their sources)",
                              [Table(list(src.columns), src.values.tolist())]))
    return blocks


# ----------------------------------------------------------------------------- recipes

def recipe_blocks(outcome: dict[str, Any], figures: FigureWriter | None, base: Path | None = None) -> list:
    """One recipe: its runs (summary table), paper vs archsim, and figures of the runs.
    ``base``: the folder the page is written to (to link and load each run's result)."""
    recipe = outcome["recipe"]
    summaries = outcome["summaries"]
    blocks: list = [Heading(recipe.title or recipe.name, 2)]
    if recipe.description:
        blocks.append(Paragraph(recipe.description.strip()))
    rows = [[name, s["trace"], s["hardware"], *[s[k] * scale for k, scale, _ in RUN_COLUMNS]]
            for name, s in summaries.items()]
    blocks.append(Table(["run", "trace", "hardware", *[c[2] for c in RUN_COLUMNS]], rows))
    if outcome["checks"]:
        blocks.append(Heading("Paper vs archsim", 3))
        rows = []
        for c in outcome["checks"]:
            mark = "yes" if c["pass"] else Strong(f"no (tolerance {c['tolerance']:.0%})")
            rows.append([c["check"], c["metric"], c["runs"], c["published"], c["archsim"],
                         c["ratio_to_published"], mark, c["source"]])
        blocks.append(Table(["check", "metric", "runs", "paper", "archsim", "archsim / paper",
                             "within tolerance", "source"], rows))
    out = outcome.get("out")
    for ref in recipe.tables:
        blocks += table_ref_blocks(ref, Path(out).parent if out is not None else None)
    if figures is not None and len(summaries) > 1:
        blocks.append(figures.add(f"{recipe.name}-runs", lambda p: plots.runs_comparison(
            summaries, p, recipe.title or recipe.name), "Energy by component and latency of each run"))
    if figures is not None and out is not None:
        from archsim.result import Result
        for name in summaries:
            run_dir = Path(out) / name
            if not (run_dir / "summary.json").exists():
                continue
            result = Result.load(run_dir)
            inner = result_blocks(result, figures, name=f"{recipe.name}-{name}", heading_level=3)
            if base is not None:
                inner.insert(0, Paragraph(f"Result files: {os.path.relpath(run_dir, base)}/"))
            blocks.append(Details(f"Run {name}: {result.summary['trace']} on {result.summary['hardware']}", inner))
    return blocks


def table_ref_blocks(ref, reproduce_dir: Path | None) -> list:
    """The tables a main-job step wrote for a recipe (``TableRef``), or a note saying how to make them."""
    path = reproduce_dir / ref.path if reproduce_dir is not None else None
    if path is None or not path.exists():
        return [Heading(ref.title, 3), Paragraph(f"Not produced yet ({ref.path} missing): run `{ref.command}`.")]
    try:
        tables = json.loads(path.read_text())["tables"]
        blocks: list = [Heading(ref.title, 3)]
        for t in tables:
            blocks.append(Heading(t["title"], 4))
            if t.get("notes"):
                blocks.append(Paragraph(t["notes"]))
            blocks.append(Table(list(t["columns"]), [list(r) for r in t["rows"]]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArchsimError(f"{path}: not a table file ({{'tables': [{{title, columns, rows}}]}}): {exc}") from None
    blocks.append(Paragraph(f"From {ref.path} (made by `{ref.command}`)."))
    return blocks


def load_recipe_outcome(recipe_dir: str | Path) -> dict[str, Any]:
    """Read back what ``run_recipe`` wrote (``recipe.json``, ``checks.json``, one result per run)."""
    from archsim.report.recipe import Recipe

    d = Path(recipe_dir)
    try:
        recipe = Recipe.model_validate(json.loads((d / "recipe.json").read_text()))
        checks = json.loads((d / "checks.json").read_text()) if (d / "checks.json").exists() else []
    except (OSError, ValueError) as exc:
        raise ArchsimError(f"{d}: not a recipe output (recipe.json: {exc})") from None
    summaries = {}
    for run in recipe.runs:
        path = d / run.name / "summary.json"
        if not path.exists():
            raise ArchsimError(f"{d}: run '{run.name}' has no result ({path} missing); run the recipe again")
        summaries[run.name] = json.loads(path.read_text())
    return {"recipe": recipe, "summaries": summaries, "checks": checks, "out": d}


def recipes_page(outcomes: list[dict[str, Any]], figures: FigureWriter | None, base: Path | None) -> Page:
    checks = [c for o in outcomes for c in o["checks"]]
    passed = sum(c["pass"] for c in checks)
    runs = sum(len(o["summaries"]) for o in outcomes)
    compared = (f"{passed} of {len(checks)} comparisons with published values within their tolerance"
                if checks else "no comparisons with published values")
    blocks: list = [Paragraph(f"{len(outcomes)} recipe(s), {runs} runs; {compared}.")]
    if len(outcomes) > 1:   # the scoreboard first: the sections below are long
        blocks.append(Table(["recipe", "runs", "checks within tolerance"], [
            [o["recipe"].title or o["recipe"].name, len(o["summaries"]),
             f"{sum(c['pass'] for c in o['checks'])} / {len(o['checks'])}" if o["checks"] else "none"]
            for o in outcomes]))
    for o in outcomes:
        blocks += recipe_blocks(o, figures, base)
    return Page("archsim report", blocks)


# ----------------------------------------------------------------------------- sweeps

def sweep_blocks(sweep_dir: Path, figures: FigureWriter | None, base: Path) -> list:
    from archsim.sweep.pareto import pareto_front
    from archsim.sweep.store import MANIFEST_FILE, load_table

    manifest = json.loads((sweep_dir / MANIFEST_FILE).read_text())
    table = load_table(sweep_dir)
    keys = [k for k in manifest.get("keys", []) if k in table.columns]
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    failed = table[table["status"] != "ok"] if "status" in table.columns else table.iloc[0:0]
    table_file = next((p for p in (sweep_dir / "results.parquet", sweep_dir / "results.csv") if p.exists()), None)
    blocks: list = []
    if manifest.get("description"):
        blocks.append(Paragraph(manifest["description"].strip()))
    n_expected = manifest.get("rows", len(table))
    text = (f"{len(table)} of {n_expected} runs in the table ({len(ok)} ok, {len(failed)} failed); "
            f"swept keys: {', '.join(keys) or 'none'}; traces: {', '.join(map(str, table['trace'].unique()))}.")
    blocks.append(Paragraph(text))
    if table_file is not None:
        blocks.append(Table(["file", "what"], [[Link(table_file.name, os.path.relpath(table_file, base)),
                                                "the full result table: one row per (design point, trace)"]]))

    metrics = [m for m in SWEEP_METRICS if m in ok.columns]
    if len(ok) and metrics:
        stats = []
        for trace, g in ok.groupby("trace", sort=False):
            for m in metrics:
                stats.append([trace, m, g[m].min(), g[m].median(), g[m].max()])
        blocks += [Heading("Summary", 2), Table(["trace", "metric", "min", "median", "max"], stats)]

    if len(ok) >= 1 and {"energy_j", "latency_s"} <= set(ok.columns):
        front = pareto_front(ok, ["energy_j", "latency_s"])
        cols = ["trace", "point", *keys, "latency_s", "energy_j", "area_mm2", "edap_j_s_mm2", "tops_per_w"]
        cols = [c for c in dict.fromkeys(cols) if c in front.columns]
        rows = [[r[c] for c in cols] for r in front[cols].head(MAX_TABLE_ROWS).to_dict("records")]
        blocks += [Heading("Pareto front: energy vs latency", 2),
                   Paragraph("Design points that no other point beats in both energy and latency, per trace."),
                   Table(cols, rows)]
        if figures is not None:
            blocks.append(figures.add("pareto-energy-latency", lambda p: plots.pareto_plot(
                ok, front, "latency_s", "energy_j", p), "Energy vs latency; the line joins the Pareto front"))
            if {"area_mm2", "edap_j_s_mm2"} <= set(ok.columns):
                front2 = pareto_front(ok, ["area_mm2", "edap_j_s_mm2"])
                blocks.append(figures.add("pareto-edap-area", lambda p: plots.pareto_plot(
                    ok, front2, "area_mm2", "edap_j_s_mm2", p), "EDAP vs area; the line joins the Pareto front"))

    from archsim.report.accuracy import accuracy_blocks
    blocks += accuracy_blocks(ok, keys, figures)      # sweeps with an accuracy block (archsim.sweep.accuracy)
    plotted = [k for k in keys if ok[k].nunique() > 1][:MAX_SWEEP_KEYS_PLOTTED] if len(ok) else []
    if figures is not None and plotted and metrics:
        blocks.append(Heading("Metrics against each swept key", 2))
        for k in plotted:
            blocks.append(figures.add(f"vs-{k}", lambda p, k=k: plots.metric_vs_param(ok, k, metrics, p),
                                      f"{', '.join(metrics)} against {k} (dots: design points; line: median "
                                      "over the other keys)"))
    if len(failed):
        cols = [c for c in ["point", "trace", *keys, "error"] if c in failed.columns]
        rows = [[r[c] for c in cols] for r in failed[cols].head(MAX_TABLE_ROWS).to_dict("records")]
        blocks += [Heading(f"Failed runs ({len(failed)})", 2), Table(cols, rows)]
    if len(table) <= MAX_TABLE_ROWS:
        cols = [c for c in ["point", "trace", *keys, "status", *SWEEP_METRICS, "tops_per_w"] if c in table.columns]
        blocks += [Heading("All runs", 2),
                   Table(cols, [[r[c] for c in cols] for r in table[cols].to_dict("records")])]
    return blocks


# ----------------------------------------------------------------------------- directories

def kind_of_dir(path: Path) -> str:
    from archsim.result import SUMMARY_FILE
    from archsim.sweep.store import MANIFEST_FILE

    if not path.is_dir():
        raise ArchsimError(f"{path}: not a directory")
    if (path / SUMMARY_FILE).exists():
        return "result"
    if (path / MANIFEST_FILE).exists():
        return "sweep"
    if (path / "recipe.json").exists():
        return "recipe"
    if any((p / "recipe.json").exists() for p in path.iterdir() if p.is_dir()):
        return "recipes"
    raise ArchsimError(f"{path}: not a result (summary.json), sweep (sweep.json) or reproduce output "
                       "(<recipe>/recipe.json) directory")


def report_dir(path: str | Path, out_dir: str | Path | None = None, *, embed: bool = False) -> tuple[Path, Path]:
    """Write ``index.md`` and ``index.html`` (and ``img/``) for the directory ``path``: a result,
    a sweep, one recipe's output or a reproduce output with several recipes."""
    path = Path(path)
    kind = kind_of_dir(path)
    out = Path(out_dir) if out_dir is not None else path

    def build(figures: FigureWriter) -> Page:
        if kind == "result":
            from archsim.result import Result
            result = Result.load(path)
            s = result.summary
            return Page(f"{s['trace']} on {s['hardware']}", result_blocks(result, figures))
        if kind == "sweep":
            name = json.loads((path / "sweep.json").read_text()).get("name", path.name)
            return Page(f"Sweep {name}", sweep_blocks(path, figures, out))
        dirs = [path] if kind == "recipe" else sorted(p for p in path.iterdir() if (p / "recipe.json").exists())
        return recipes_page([load_recipe_outcome(d) for d in dirs], figures, out)

    return write_report(out, build, embed=embed)

