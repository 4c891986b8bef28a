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
from archsim.report.document import (Anchor, Details, FigureWriter, Heading, Items, Link, Page, PageLink,
                                     Paragraph, Strong, Table, slug, write_report)

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
MAX_OP_ROWS = 200      # per-op table rows on a page (ops.csv holds every op)


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


def result_blocks(result, figures: FigureWriter | None, name: str = "result", heading_level: int = 2,
                  files: str | None = None) -> list:
    """Summary figures, energy/area by component, per-layer breakdown, per-op table, prices.
    ``files``: the result's folder relative to the page (linked, with its ops.csv)."""
    s = result.summary
    blocks: list = [Paragraph(f"Trace {s['trace']} on {s['hardware']} (model {s['architecture']}, "
                              f"{s['clock_mhz']:g} MHz, energy table {s['energy_table']}).")]
    if files is not None:
        blocks.append(Table(["file", "what"], [[Link(f"{files}/", files + "/"), "the result folder"],
                                              [Link("ops.csv", f"{files}/ops.csv"), "every op's figures"]]))
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
        shown = ops if len(ops) <= MAX_OP_ROWS else ops.nlargest(MAX_OP_ROWS, "latency_s").sort_index()
        rows = [[r[c] for c in cols] for r in shown[cols].to_dict("records")]
        what = (f"Per-op table ({len(ops)} ops)" if len(shown) == len(ops) else
                f"Per-op table (the {len(shown)} longest of {len(ops)} ops, in trace order; ops.csv has them all)")
        blocks.append(Details(what, [Table(cols, rows)]))
    if len(result.sources):
        src = result.sources
        blocks.append(Details("Prices used (energy/area table entries and their sources)",
                              [Table(list(src.columns), src.values.tolist())]))
    return blocks


# ----------------------------------------------------------------------------- recipes

def score(checks: list[dict[str, Any]]) -> tuple[list[str], list[Any]]:
    """The scoreboard's counting of one recipe's checks: column names and cells. (The one place
    that counts; how checks are counted changes here only.)"""
    return ["checks within tolerance"], [f"{sum(c['pass'] for c in checks)} / {len(checks)}" if checks else "none"]


def headline(checks: list[dict[str, Any]]) -> str:
    """The one-line count over every recipe."""
    if not checks:
        return "no comparisons with published values"
    return (f"{sum(c['pass'] for c in checks)} of {len(checks)} comparisons with published values within "
            "their tolerance")


def check_ids(checks: list[dict[str, Any]]) -> list[str]:
    """The id of each check's row on its recipe's page (``check-<slug of its name>``)."""
    ids: list[str] = []
    for c in checks:
        base = "check-" + (slug(c["check"])[:60].strip("-") or "unnamed")
        ids.append(base if base not in ids else f"{base}-{len(ids) + 1}")
    return ids


def recipe_blocks(outcome: dict[str, Any], figures: FigureWriter | None, base: Path | None = None, *,
                  level: int = 2, titled: bool = True) -> list:
    """One recipe: its runs (summary table), paper vs archsim, and figures of the runs.
    ``base``: the folder the page is written to (to link and load each run's result).
    ``titled``: start with the recipe's title as a heading of ``level`` (sections one below);
    otherwise the sections are at ``level`` (the recipe's own page, whose title is the recipe's)."""
    recipe = outcome["recipe"]
    summaries = outcome["summaries"]
    blocks: list = []
    if titled:
        blocks.append(Heading(recipe.title or recipe.name, level))
        level += 1
    if recipe.description:
        blocks.append(Paragraph(recipe.description.strip()))
    blocks.append(Heading("Runs", level))
    rows = [[name, s["trace"], s["hardware"], *[s[k] * scale for k, scale, _ in RUN_COLUMNS]]
            for name, s in summaries.items()]
    blocks.append(Table(["run", "trace", "hardware", *[c[2] for c in RUN_COLUMNS]], rows))
    if outcome["checks"]:
        blocks.append(Heading("Paper vs archsim", level))
        rows = []
        for c, cid in zip(outcome["checks"], check_ids(outcome["checks"])):
            mark = "yes" if c["pass"] else Strong(f"no (tolerance {c['tolerance']:.0%})")
            rows.append([Anchor(c["check"], cid), c["metric"], c["runs"], c["published"], c["archsim"],
                         c["ratio_to_published"], mark, c["source"]])
        blocks.append(Table(["check", "metric", "runs", "paper", "archsim", "archsim / paper",
                             "within tolerance", "source"], rows))
    out = outcome.get("out")
    for ref in recipe.tables:
        blocks += table_ref_blocks(ref, Path(out).parent if out is not None else None, level)
    if figures is not None and len(summaries) > 1:
        blocks.append(Heading("Energy and latency of the runs", level))
        blocks.append(figures.add(f"{recipe.name}-runs", lambda p: plots.runs_comparison(
            summaries, p, recipe.title or recipe.name), "Energy by component and latency of each run"))
    if figures is not None and out is not None:
        from archsim.result import Result
        details = []
        for name in summaries:
            run_dir = Path(out) / name
            if not (run_dir / "summary.json").exists():
                continue
            result = Result.load(run_dir)
            files = os.path.relpath(run_dir, base) if base is not None else None
            inner = result_blocks(result, figures, name=f"{recipe.name}-{name}", heading_level=level + 1,
                                  files=files)
            details.append(Details(f"Run {name}: {result.summary['trace']} on {result.summary['hardware']}",
                                   inner, id=f"run-{slug(name)}"))
        if details:
            blocks.append(Heading("Each run", level))
            blocks += details
    return blocks


def table_ref_blocks(ref, reproduce_dir: Path | None, level: int = 3) -> list:
    """The tables a main-job step wrote for a recipe (``TableRef``), or a note saying how to make them."""
    path = reproduce_dir / ref.path if reproduce_dir is not None else None
    if path is None or not path.exists():
        return [Heading(ref.title, level), Paragraph(f"Not produced yet ({ref.path} missing): run `{ref.command}`.")]
    try:
        tables = json.loads(path.read_text())["tables"]
        blocks: list = [Heading(ref.title, level)]
        for t in tables:
            blocks.append(Heading(t["title"], level + 1))
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


def scoreboard(outcomes: list[dict[str, Any]], page_of: dict[str, str] | None = None) -> Table:
    """One row per recipe: its runs, the counts of :func:`score`, and its misses; with
    ``page_of`` (recipe name -> its page, relative, without extension) the recipe and each miss
    link to the recipe's page."""
    rows, columns = [], None
    for o in outcomes:
        r = o["recipe"]
        columns, cells = score(o["checks"])
        page = (page_of or {}).get(r.name)
        title = r.title or r.name
        misses = [(c["check"] if len(c["check"]) <= 60 else c["check"][:57] + "...", cid)
                  for c, cid in zip(o["checks"], check_ids(o["checks"])) if not c["pass"]]
        miss_cell = ([PageLink(text, page, cid) for text, cid in misses] if page is not None
                     else "; ".join(text for text, _ in misses)) if misses else "-"
        rows.append([PageLink(title, page) if page is not None else title, len(o["summaries"]), *cells, miss_cell])
    return Table(["recipe", "runs", *(columns or score([])[0]), "misses"], rows)


def recipes_page(outcomes: list[dict[str, Any]], figures: FigureWriter | None, base: Path | None) -> Page:
    """Every recipe on one page (the scoreboard first); ``write_recipes_report`` writes the
    index and one page per recipe instead."""
    checks = [c for o in outcomes for c in o["checks"]]
    runs = sum(len(o["summaries"]) for o in outcomes)
    blocks: list = [Paragraph(f"{len(outcomes)} recipe(s), {runs} runs; {headline(checks)}.")]
    if len(outcomes) > 1:   # the scoreboard first: the sections below are long
        blocks.append(scoreboard(outcomes))
    for o in outcomes:
        blocks += recipe_blocks(o, figures, base)
    return Page("archsim report", blocks, toc=True)


def recipe_page(outcome: dict[str, Any], figures: FigureWriter | None, base: Path | None,
                nav: list | None = None) -> Page:
    """One recipe's own page: its sections at level 2, a table of contents."""
    r = outcome["recipe"]
    return Page(r.title or r.name, recipe_blocks(outcome, figures, base, titled=False), toc=True, nav=nav or [])


def index_page(outcomes: list[dict[str, Any]], pages: dict[str, Page], page_of: dict[str, str]) -> Page:
    """The index of a reproduce output: the scoreboard (each recipe and each miss linked to
    its page) and the contents of every recipe page."""
    checks = [c for o in outcomes for c in o["checks"]]
    runs = sum(len(o["summaries"]) for o in outcomes)
    blocks: list = [Paragraph(f"{len(outcomes)} recipe(s), {runs} runs; {headline(checks)}."),
                    Heading("Scoreboard", 2), scoreboard(outcomes, page_of), Heading("Recipes", 2)]
    items = []
    for o in outcomes:
        name = o["recipe"].name
        sections = [PageLink(h.text, page_of[name], h.id) for h in pages[name].blocks
                    if isinstance(h, Heading) and h.level == 2]
        items.append((PageLink(pages[name].title, page_of[name]), sections))
    blocks.append(Items(items))
    return Page("archsim report", blocks, toc=True)


def write_recipes_report(outcomes: list[dict[str, Any]], out_dir: str | Path, *, embed: bool = False) -> tuple[Path, Path]:
    """A reproduce output's pages: ``<recipe>/index.{html,md}`` for each recipe (with its
    images in ``<recipe>/img/``), then ``index.{html,md}`` linking to them. Returns the index."""
    out = Path(out_dir)
    pages: dict[str, Page] = {}
    page_of = {o["recipe"].name: f"{o['recipe'].name}/index" for o in outcomes}
    for o in outcomes:
        name = o["recipe"].name
        d = out / name

        def build(figures, o=o, name=name, d=d):
            pages[name] = recipe_page(o, figures, d, nav=[PageLink("archsim report (index)", "../index")])
            return pages[name]
        write_report(d, build, embed=embed)
    return write_report(out, lambda figures: index_page(outcomes, pages, page_of), embed=embed)


# ----------------------------------------------------------------------------- sweeps

SWEEP_COLUMNS = [("latency_s", "latency", "s"), ("energy_j", "energy", "J"), ("area_mm2", "area", "mm²"),
                 ("tops_per_w", "TOPS/W", ""), ("tops_per_mm2", "TOPS/mm²", ""), ("edap_j_s_mm2", "EDAP", "J·s·mm²")]
ENERGY_DERIVED = {"energy_j", "power_w", "tops_per_w", "edap_j_s_mm2"}


def short_keys(keys: list[str]) -> dict[str, str]:
    """Each swept key's column name: its last part (``params.rows`` -> ``rows``) unless another
    key ends the same way, then the whole path."""
    last = [k.rsplit(".", 1)[-1] for k in keys]
    return {k: (s if last.count(s) == 1 else k) for k, s in zip(keys, last)}


def design_labels(table, keys: list[str]) -> list[str]:
    """A short name for each row's design: the hardware's name when the sweep has several
    hardware files (or the swept keys alone do not tell the designs apart), then the swept values
    (``rows=8 cols=16``)."""
    from archsim.report.document import fmt

    names = short_keys(keys)
    several = "hardware_file" in table.columns and table["hardware_file"].nunique() > 1
    labels = []
    for r in table.to_dict("records"):
        parts = [str(r.get("hardware", ""))] if several or not keys else []
        parts += [f"{names[k]}={fmt(r[k])}" for k in keys if k in r]
        labels.append(" ".join(p for p in parts if p) or f"point {r.get('point')}")
    return labels


def varied_together(table, keys: list[str]) -> list[list[str]]:
    """The swept keys in groups that vary together (each value of one goes with one value of the
    other, e.g. zipped keys): a plot against one of a group is the plot against the others."""
    groups: list[list[str]] = []
    for k in keys:
        for g in groups:
            pairs = table[[g[0], k]].astype(str).drop_duplicates()
            if pairs[g[0]].is_unique and pairs[k].is_unique:
                g.append(k)
                break
        else:
            groups.append([k])
    return groups


def relative_energy(table_or_summary) -> bool:
    """Whether the energies come from a table marked ``units: relative`` (only ratios mean something)."""
    units = table_or_summary.get("energy_units") if hasattr(table_or_summary, "get") else None
    if units is None:
        return False
    if isinstance(units, str):
        return units == "relative"
    return bool((units.astype(str) == "relative").any())


def _scaled_columns(table, metrics, relative: bool) -> tuple[list[str], list[tuple[str, float]]]:
    """Headers with human-scaled units and (column, multiplier) for each metric in the table."""
    from archsim.report.units import scale_for

    headers, cols = [], []
    for key, name, unit in metrics:
        if key not in table.columns:
            continue
        if relative and key in ENERGY_DERIVED:
            headers.append(f"{name} (relative units)")
            cols.append((key, 1.0))
            continue
        mult, scaled = scale_for(table[key], unit)
        headers.append(f"{name} ({scaled})" if scaled else name)
        cols.append((key, mult))
    return headers, cols


def _design_table(rows, keys: list[str], several_hw: bool, relative: bool, lead: list[str]) -> Table:
    """Rows of the sweep table as a page table: design label, ``lead`` columns, one column per
    swept key, the hardware (file), then the metrics in human-scaled units."""
    names = short_keys(keys)
    headers, cols = _scaled_columns(rows, SWEEP_COLUMNS, relative)
    hw = ["hardware file"] if several_hw and "hardware_file" in rows.columns else []
    out = []
    for r in rows.to_dict("records"):
        out.append([r["design"], *[r.get(c) for c in lead], *[r.get(k) for k in keys],
                    *([Path(str(r["hardware_file"])).name] if hw else []),
                    *[None if r.get(c) is None else r[c] * m for c, m in cols]])
    return Table(["design", *lead, *[names[k] for k in keys], *hw, *headers], out)


def sweep_blocks(sweep_dir: Path, figures: FigureWriter | None, base: Path) -> list:
    from archsim.sweep.pareto import pareto_front
    from archsim.sweep.store import MANIFEST_FILE, load_table

    manifest = json.loads((sweep_dir / MANIFEST_FILE).read_text())
    table = load_table(sweep_dir)
    keys = [k for k in manifest.get("keys", []) if k in table.columns]
    table = table.assign(design=design_labels(table, keys))
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    failed = table[table["status"] != "ok"] if "status" in table.columns else table.iloc[0:0]
    table_file = next((p for p in (sweep_dir / "results.parquet", sweep_dir / "results.csv") if p.exists()), None)
    several_hw = "hardware_file" in table.columns and table["hardware_file"].nunique() > 1
    traces = list(map(str, table["trace"].unique()))
    relative = relative_energy(ok) if len(ok) else False
    names = short_keys(keys)
    blocks: list = []
    if manifest.get("description"):
        blocks.append(Paragraph(manifest["description"].strip()))
    n_expected = manifest.get("rows", len(table))
    text = (f"{len(table)} of {n_expected} runs in the table ({len(ok)} ok, {len(failed)} failed); "
            f"{table['design'].nunique()} designs; swept keys: {', '.join(keys) or 'none'}; "
            f"traces: {', '.join(traces)}.")
    blocks.append(Paragraph(text))
    if several_hw:
        hw = table[["hardware_file", "hardware", "architecture"]].drop_duplicates("hardware_file")
        blocks.append(Table(["hardware file", "design name", "model"], hw.values.tolist()))
    if relative:
        blocks.append(Paragraph("Energies (and power, TOPS/W, EDAP) are in the relative units of an energy "
                                "table marked `units: relative`: only ratios between designs mean something."))
    if table_file is not None:
        blocks.append(Table(["file", "what"], [[Link(table_file.name, os.path.relpath(table_file, base)),
                                                "the full result table: one row per (design point, trace)"]]))
    # the series of the plots: traces, hardware files, or both
    series = "trace" if not several_hw else ("hardware" if len(traces) == 1 else None)
    if series is None:
        ok = ok.assign(series=ok["hardware"].astype(str) + " · " + ok["trace"].astype(str))
        series = "series"

    metrics = [m for m in SWEEP_METRICS if m in ok.columns]
    metric_names = ", ".join(plots.METRIC_UNITS.get(m, (m,))[0] for m in metrics)
    if len(ok) and metrics:
        headers, cols = _scaled_columns(ok, [c for c in SWEEP_COLUMNS if c[0] in metrics], relative)
        stats = []
        for (key, mult), header in zip(cols, headers):
            for trace, g in ok.groupby("trace", sort=False):
                best = g.loc[g[key].idxmin(), "design"] if key != "tops_per_w" else g.loc[g[key].idxmax(), "design"]
                stats.append([header, trace, g[key].min() * mult, g[key].median() * mult, g[key].max() * mult, best])
        blocks += [Heading("Summary", 2), Table(["metric", "trace", "min", "median", "max", "best design"], stats)]

    if len(ok) and len(ok) <= MAX_TABLE_ROWS and figures is not None and ok["design"].nunique() > 1:
        blocks.append(Heading("Designs side by side", 2))
        blocks.append(figures.add("designs", lambda p: plots.designs_bars(
            ok, "design", metrics, p, by="trace", relative=relative),
            f"{metric_names} of each design (one bar per trace)"))

    if len(ok) >= 1 and {"energy_j", "latency_s"} <= set(ok.columns):
        front = pareto_front(ok, ["energy_j", "latency_s"])
        blocks += [Heading("Pareto front: energy vs latency", 2),
                   Paragraph("Design points that no other point beats in both energy and latency, per trace."),
                   _design_table(front.head(MAX_TABLE_ROWS), keys, several_hw, relative, ["trace", "point"])]
        if figures is not None:
            blocks.append(figures.add("pareto-energy-latency", lambda p: plots.pareto_plot(
                ok, front, "latency_s", "energy_j", p, by=series, label="design", relative=relative),
                "Energy vs latency; the line joins the Pareto front, whose points are labelled with their design"))
            if {"area_mm2", "edap_j_s_mm2"} <= set(ok.columns):
                front2 = pareto_front(ok, ["area_mm2", "edap_j_s_mm2"])
                blocks.append(figures.add("pareto-edap-area", lambda p: plots.pareto_plot(
                    ok, front2, "area_mm2", "edap_j_s_mm2", p, by=series, label="design", relative=relative),
                    "EDAP vs area; the line joins the Pareto front, whose points are labelled with their design"))

    plotted = [k for k in keys if ok[k].nunique() > 1] if len(ok) else []
    groups = varied_together(ok, plotted)[:MAX_SWEEP_KEYS_PLOTTED] if plotted else []
    if figures is not None and groups and metrics:
        blocks.append(Heading("Metrics against each swept key", 2))
        for g in groups:
            k = g[0]
            together = f" ({', '.join(names[o] for o in g[1:])} varied with it: one plot for all)" if len(g) > 1 else ""
            blocks.append(figures.add(f"vs-{k}", lambda p, k=k: plots.metric_vs_param(
                ok, k, metrics, p, by=series, relative=relative),
                f"{metric_names} against {names[k]}{together} (dots: design points; line: median over the "
                "other keys)"))
    if len(failed):
        cols = [c for c in ["design", "point", "trace", *keys, "error"] if c in failed.columns]
        rows = [[r[c] for c in cols] for r in failed[cols].head(MAX_TABLE_ROWS).to_dict("records")]
        blocks += [Heading(f"Failed runs ({len(failed)})", 2), Table([names.get(c, c) for c in cols], rows)]
    if len(table) <= MAX_TABLE_ROWS:
        blocks += [Heading("All runs", 2), _design_table(table, keys, several_hw, relative, ["trace", "point", "status"])]
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
            return Page(f"{s['trace']} on {s['hardware']}", result_blocks(result, figures), toc=True)
        if kind == "sweep":
            name = json.loads((path / "sweep.json").read_text()).get("name", path.name)
            return Page(f"Sweep {name}", sweep_blocks(path, figures, out), toc=True)
        return recipe_page(load_recipe_outcome(path), figures, out)

    if kind == "recipes":
        dirs = sorted(p for p in path.iterdir() if (p / "recipe.json").exists())
        return write_recipes_report([load_recipe_outcome(d) for d in dirs], out, embed=embed)
    return write_report(out, build, embed=embed)

