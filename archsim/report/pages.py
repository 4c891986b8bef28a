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

# (summary key, label, base unit): values get the SI prefix that suits them (archsim.report.units)
SUMMARY_ROWS = [("latency_s", "latency", "s"), ("energy_j", "energy", "J"), ("area_mm2", "area", "mm²"),
                ("power_w", "power", "W"), ("cycles", "cycles", ""), ("ops", "dense ops", "OP"),
                ("tops", "throughput", "TOPS"), ("tops_per_w", "efficiency", "TOPS/W"),
                ("tops_per_mm2", "area efficiency", "TOPS/mm²"), ("edap_j_s_mm2", "EDAP", "J·s·mm²")]
# energies of a table marked `units: relative` are shown as the sum of the table's own numbers
# (its entries are written as energy_pj), never with an SI unit
RELATIVE_SCALE = 1e12
RELATIVE_UNIT = "relative (table units)"
RELATIVE_NOTE = ("Energies marked relative come from an energy table (or recipe) marked `units: relative`: "
                 "they are sums of the table's own numbers, meaningful only as ratios between runs priced "
                 "with the same table; power, TOPS/W and EDAP derived from them are relative too.")
SWEEP_METRICS = ["latency_s", "energy_j", "area_mm2", "edap_j_s_mm2"]
MAX_SWEEP_KEYS_PLOTTED = 8
MAX_TABLE_ROWS = 40
MAX_OP_ROWS = 200      # per-op table rows on a page (ops.csv holds every op)


# ----------------------------------------------------------------------------- one result

def _energy_unit(relative: bool, values) -> tuple[float, str]:
    """(multiplier from joules, unit text) of energies: relative units, or the human SI prefix."""
    from archsim.report.units import scale_for
    return (RELATIVE_SCALE, RELATIVE_UNIT) if relative else scale_for(values, "J")


def summary_rows(s: dict[str, Any], relative: bool) -> list[list]:
    """The summary figures as (label, value, unit) rows in human-scaled units."""
    from archsim.report.units import scale_for
    rows = []
    for key, label, unit in SUMMARY_ROWS:
        if key not in s or s[key] is None:
            continue
        if relative and key in ENERGY_DERIVED:
            rows.append([label, s[key] * (RELATIVE_SCALE if key == "energy_j" else 1.0), RELATIVE_UNIT])
            continue
        mult, scaled = scale_for([s[key]], unit)
        rows.append([label, s[key] * mult, scaled])
    return rows


def _by_component_table(summary: dict[str, Any], relative: bool = False) -> Table:
    energy = summary.get("energy_j_by_component") or {}
    area = summary.get("area_mm2_by_component") or {}
    e_total, a_total = summary.get("energy_j") or 1.0, summary.get("area_mm2") or 1.0
    e_mult, e_unit = _energy_unit(relative, list(energy.values()))
    rows = []
    # a stable sort of the summary's own order: components of equal energy keep their order
    # (a set here made the rows depend on the process's string-hash seed)
    for c in sorted(dict.fromkeys([*energy, *area]), key=lambda c: -energy.get(c, 0.0)):
        e, a = energy.get(c), area.get(c)
        rows.append([c, None if e is None else e * e_mult, None if e is None else 100 * e / e_total,
                     None if a is None else a, None if a is None else 100 * a / a_total])
    return Table(["component", f"energy ({e_unit})", "energy (%)", "area (mm²)", "area (%)"], rows)


def _by_engine_table(summary: dict[str, Any], relative: bool = False) -> Table:
    """A heterogeneous design (``hetero``): each engine's share, and the link between them."""
    from archsim.report.units import scale_for
    engines, link = summary["engines"], summary.get("link")
    t_mult, t_unit = scale_for([e["busy_s"] for e in engines.values()], "s")
    e_mult, e_unit = _energy_unit(relative, [e["energy_j"] for e in engines.values()])
    rows = []
    for name, e in engines.items():
        rows.append([name, f"{e['architecture']} ({e['hardware']})", e["copies"], e["ops"], e["macs"] * 1e-9,
                     e["busy_s"] * t_mult, 100 * e["utilization_time"], e["energy_j"] * e_mult, e["area_mm2"]])
    if link:
        rows.append(["link", f"{link['transfers']} transfers, {link['bytes'] / 1e6:.4g} MB", None, None, None,
                     link["busy_s"] * t_mult, None, link["energy_j"] * e_mult, None])
    return Table(["engine", "model", "copies", "ops", "GMAC", f"busy ({t_unit})", "busy (% of latency)",
                  f"energy ({e_unit})", "area (mm²)"], rows)


def result_blocks(result, figures: FigureWriter | None, name: str = "result", heading_level: int = 2,
                  files: str | None = None, relative: bool | None = None) -> list:
    """Summary figures, energy/area by component, per-layer breakdown, per-op table, prices.
    ``files``: the result's folder relative to the page (linked, with its ops.csv);
    ``relative``: energies in relative units (default: as the result's energy table says)."""
    s = result.summary
    relative = relative_energy(s) if relative is None else relative
    energy_unit = (RELATIVE_SCALE, RELATIVE_UNIT) if relative else None
    blocks: list = [Paragraph(f"Trace {s['trace']} on {s['hardware']} (model {s['architecture']}, "
                              f"{s['clock_mhz']:g} MHz, energy table {s['energy_table']}).")]
    if relative:
        blocks.append(Paragraph(RELATIVE_NOTE))
    if files is not None:
        blocks.append(Table(["file", "what"], [[Link(f"{files}/", files + "/"), "the result folder"],
                                              [Link("ops.csv", f"{files}/ops.csv"), "every op's figures"]]))
    blocks.append(Table(["figure", "value", "unit"], summary_rows(s, relative)))
    if s.get("engines"):
        blocks.append(Heading("By engine", heading_level + 1))
        blocks.append(_by_engine_table(s, relative))
    blocks.append(Heading("Energy and area by component", heading_level + 1))
    blocks.append(_by_component_table(s, relative))
    if figures is not None:
        blocks.append(figures.add(f"{name}-components", lambda p: plots.component_bars(
            s.get("energy_j_by_component") or {}, s.get("area_mm2_by_component") or {}, p,
            f"{s['trace']} on {s['hardware']}", energy_unit=energy_unit), "Energy and area by component"))
    ops = result.ops
    if len(ops):
        blocks.append(Heading("Per-layer latency and energy", heading_level + 1))
        if figures is not None:
            blocks.append(figures.add(f"{name}-layers", lambda p: plots.per_op_breakdown(
                ops, s.get("clock_mhz"), p, f"{s['trace']} on {s['hardware']}", energy_unit=energy_unit),
                "Latency (compute and memory stall) and energy by component of each op"))
        cols = [c for c in ("op_id", "kind", "engine", "timesteps", "cycles", "latency_s", "energy_pj", "utilization")
                if c in ops.columns]
        shown = ops if len(ops) <= MAX_OP_ROWS else ops.nlargest(MAX_OP_ROWS, "latency_s").sort_index()
        rows = [[r[c] for c in cols] for r in shown[cols].to_dict("records")]
        if relative and "energy_pj" in cols:
            cols = [f"energy ({RELATIVE_UNIT})" if c == "energy_pj" else c for c in cols]
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
    """The scoreboard's counting of one recipe's checks: column names and cells, a column per
    kind of check (only published and peer-tool ones count in the headline), then the misses.
    (The one place that counts; how checks are counted changes here only.)"""
    from archsim.report.recipe import KINDS, tally

    t = tally(checks)
    columns = [f"{k.replace('_', ' ')} (passed / total)" for k in KINDS] + ["known misses", "unexpected misses"]
    cells = [f"{t['by_kind'][k][0]} / {t['by_kind'][k][1]}" if t["by_kind"][k][1] else "-" for k in KINDS]
    return columns, cells + [t["known_misses"] or "-", t["misses"] or "-"]


def headline(checks: list[dict[str, Any]]) -> str:
    """The one-line count over every recipe (archsim.report.recipe.headline)."""
    from archsim.report.recipe import headline as count

    return count(checks) if checks else "no checks"


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
    rel = run_units(outcome)
    if any(rel.values()):
        blocks.append(Paragraph(RELATIVE_NOTE))
    blocks.append(runs_table(summaries, rel))
    if outcome["checks"]:
        blocks.append(Heading("Paper vs archsim", level))
        rows = []
        for c, cid in zip(outcome["checks"], check_ids(outcome["checks"])):
            rows.append([Anchor(c["check"], cid), c["kind"].replace("_", " "), c["metric"], c["runs"], c["published"],
                         c["archsim"], c["ratio_to_published"], check_verdict(c), c["source"]])
        blocks.append(Table(["check", "kind", "metric", "runs", "paper", "archsim", "archsim / paper",
                             "within tolerance", "source"], rows))
    out = outcome.get("out")
    for ref in recipe.tables:
        blocks += table_ref_blocks(ref, Path(out).parent if out is not None else None, level)
    from archsim.report.layers import layer_figure_blocks
    blocks += layer_figure_blocks(recipe, out, figures, level)
    for sweep in getattr(recipe, "sweeps", []):
        blocks.append(Heading(sweep.title, level))
        sweep_dir = Path(out) / "sweeps" / sweep.name if out is not None else None
        if sweep_dir is None or not (sweep_dir / "sweep.json").exists():
            blocks.append(Paragraph(f"Not run yet: `archsim reproduce` runs {sweep.spec} into sweeps/{sweep.name}/."))
            continue
        blocks += sweep_blocks(sweep_dir, figures, base if base is not None else sweep_dir, level + 1,
                               prefix=f"{recipe.name}-{sweep.name}-")
    if figures is not None and len(summaries) > 1:
        blocks.append(Heading("Energy and latency of the runs", level))
        # runs in physical and in relative units are never on one energy axis
        for relative in (False, True):
            group = {n: s for n, s in summaries.items() if rel[n] == relative}
            if not group:
                continue
            unit = (RELATIVE_SCALE, RELATIVE_UNIT) if relative else None
            what = " (energies in relative units)" if relative and len(group) < len(summaries) else ""
            blocks.append(figures.add(f"{recipe.name}-runs{'-relative' if what else ''}",
                                      lambda p, g=group, u=unit: plots.runs_comparison(
                                          g, p, recipe.title or recipe.name, energy_unit=u),
                                      f"Energy by component and latency of each run{what}"))
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
                                  files=files, relative=rel[name])
            details.append(Details(f"Run {name}: {result.summary['trace']} on {result.summary['hardware']}",
                                   inner, id=f"run-{slug(name)}"))
        if details:
            blocks.append(Heading("Each run", level))
            blocks += details
    return blocks


def check_verdict(c: dict[str, Any]):
    """The "within tolerance" cell: the band, the effect rule, a known miss with its reason,
    what a calibration fits or which fit a check is held out from."""
    if c["pass"]:
        text = "yes"
    elif not c["within_tolerance"]:
        text = f"no (tolerance {c['tolerance']:.0%})"
    else:
        text = (f"no (effect {c['effect_archsim']:+.3g} vs published {c['effect_published']:+.3g}: "
                "other sign or under half)")
    if c["known_miss"]:
        text += f"; known miss: {c['known_miss']}"
    if c["fits"]:
        text += f"; fits {c['fits']} (held out: {', '.join(c['held_out']) or 'none'})"
    if c["held_out_from"]:
        text += f"; held out from the fit of {', '.join(c['held_out_from'])}"
    return text if c["pass"] or c["known_miss"] else Strong(text)


def run_units(outcome: dict[str, Any]) -> dict[str, bool]:
    """Run name -> whether its energies are relative (its energy table, or the whole recipe,
    marked ``units: relative``)."""
    whole = getattr(outcome["recipe"], "units", None) == "relative"
    return {n: whole or relative_energy(s) for n, s in outcome["summaries"].items()}


def runs_table(summaries: dict[str, dict[str, Any]], rel: dict[str, bool]) -> Table:
    """One row per run: latency, energy, area, TOPS/W, TOPS/mm², EDAP in human-scaled units;
    the energies (and what derives from them) of relative runs in a column of their own."""
    import pandas as pd

    df = pd.DataFrame([{"run": n, **{k: s.get(k) for k in ("trace", "hardware", *[c[0] for c in SWEEP_COLUMNS])}}
                       for n, s in summaries.items()])
    physical = df[[not rel[n] for n in df["run"]]]
    headers, cols = _scaled_columns(physical if len(physical) else df, SWEEP_COLUMNS, relative=not len(physical))
    mixed = 0 < len(physical) < len(df)
    out = []
    for r in df.to_dict("records"):
        row = [r["run"], r["trace"], r["hardware"]]
        for key, mult in cols:
            blank = mixed and rel[r["run"]] and key in ENERGY_DERIVED
            row.append(None if blank or r.get(key) is None else r[key] * mult)
        if mixed:
            row.append(r["energy_j"] * RELATIVE_SCALE if rel[r["run"]] else None)
        out.append(row)
    return Table(["run", "trace", "hardware", *headers, *([f"energy ({RELATIVE_UNIT})"] if mixed else [])], out)


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


def stages_blocks(out_dir: Path) -> list:
    """The main job's stage times (``stages.json``, written by setup.sh as it runs), when present."""
    import json

    path = Path(out_dir) / "stages.json"
    if not path.is_file():
        return []
    try:
        stages = json.loads(path.read_text())
        rows = [[str(s["stage"]), float(s["wall_s"])] for s in stages]
    except (OSError, ValueError, KeyError, TypeError):
        return [Paragraph(f"{path.name}: unreadable, stage times not shown")]
    rows.append(["all stages above", sum(r[1] for r in rows)])
    return [Heading("Main-job stages", 2),
            Paragraph("Wall time of each stage of the last ./setup.sh that wrote this folder, measured by it "
                      "(the reproduce step itself, which writes this page, is not included)."),
            Table(["stage", "wall time (s)"], rows)]


def index_page(outcomes: list[dict[str, Any]], pages: dict[str, Page | tuple], page_of: dict[str, str],
               out_dir: Path | None = None) -> Page:
    """The index of a reproduce output: the scoreboard (each recipe and each miss linked to
    its page), the contents of every recipe page, and the main job's stage times."""
    checks = [c for o in outcomes for c in o["checks"]]
    runs = sum(len(o["summaries"]) for o in outcomes)
    blocks: list = [Paragraph(f"{len(outcomes)} recipe(s), {runs} runs; {headline(checks)}."),
                    Heading("Scoreboard", 2), scoreboard(outcomes, page_of), Heading("Recipes", 2)]
    items = []
    for o in outcomes:
        name = o["recipe"].name
        title, headings = contents_of(pages[name])
        sections = [PageLink(text, page_of[name], hid) for text, hid in headings]
        items.append((PageLink(title, page_of[name]), sections))
    blocks.append(Items(items))
    if out_dir is not None:
        blocks += stages_blocks(out_dir)
    return Page("archsim report", blocks, toc=True)


def contents_of(page: Page | tuple) -> tuple[str, list[tuple[str, str]]]:
    """A page's title and its level-2 headings ``(text, id)``: what the index lists of it."""
    if isinstance(page, tuple):
        return page
    return page.title, [(h.text, h.id) for h in page.blocks if isinstance(h, Heading) and h.level == 2]


def write_recipe_page(outcome: dict[str, Any], out_dir: str | Path, embed: bool = False) -> tuple:
    """``<recipe>/index.{html,md}`` (images in ``<recipe>/img/``); returns its :func:`contents_of`
    (plain tuples, so that a worker process can hand it back)."""
    d = Path(out_dir) / outcome["recipe"].name
    built: list[Page] = []

    def build(figures):
        built.append(recipe_page(outcome, figures, d, nav=[PageLink("archsim report (index)", "../index")]))
        return built[-1]
    write_report(d, build, embed=embed)
    return contents_of(built[-1])


def write_recipes_report(outcomes: list[dict[str, Any]], out_dir: str | Path, *, embed: bool = False,
                         pool=None) -> tuple[Path, Path]:
    """A reproduce output's pages: ``<recipe>/index.{html,md}`` for each recipe (with its
    images in ``<recipe>/img/``), then ``index.{html,md}`` linking to them. Returns the index.
    ``pool`` (a ``concurrent.futures`` executor): the recipe pages are drawn there, each recipe
    writing only its own folder; the index is written here, after them all."""
    out = Path(out_dir)
    page_of = {o["recipe"].name: f"{o['recipe'].name}/index" for o in outcomes}
    if pool is None:
        pages = {o["recipe"].name: write_recipe_page(o, out, embed) for o in outcomes}
    else:
        futures = {o["recipe"].name: pool.submit(write_recipe_page, o, out, embed) for o in outcomes}
        pages = {name: f.result() for name, f in futures.items()}
    return write_report(out, lambda figures: index_page(outcomes, pages, page_of, out), embed=embed)


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
            headers.append(f"{name} ({RELATIVE_UNIT})" if key == "energy_j" else f"{name} (relative)")
            cols.append((key, RELATIVE_SCALE if key == "energy_j" else 1.0))
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


def sweep_blocks(sweep_dir: Path, figures: FigureWriter | None, base: Path, level: int = 2, prefix: str = "") -> list:
    """The page of a sweep: summary, plots against each swept key, Pareto fronts, the runs.
    ``level``: of its headings; ``prefix``: of its figure names (several sweeps on one page)."""
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
    for family, gaps in (manifest.get("family_gaps") or {}).items():
        blocks.append(Paragraph(f"Trace family {family} has no member recorded at "
                                f"{'; '.join(', '.join(f'{k} = {v}' for k, v in g.items()) for g in gaps)}: "
                                "those runs were not planned (a real trace cannot be moved to another T or sparsity)."))
    if several_hw:
        hw = table[["hardware_file", "hardware", "architecture"]].drop_duplicates("hardware_file")
        blocks.append(Table(["hardware file", "design name", "model"], hw.values.tolist()))
    if relative:
        blocks.append(Paragraph(RELATIVE_NOTE))
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
        blocks += [Heading("Summary", level), Table(["metric", "trace", "min", "median", "max", "best design"], stats)]

    if len(ok) and len(ok) <= MAX_TABLE_ROWS and figures is not None and ok["design"].nunique() > 1:
        blocks.append(Heading("Designs side by side", level))
        blocks.append(figures.add(f"{prefix}designs", lambda p: plots.designs_bars(
            ok, "design", metrics, p, by="trace", relative=relative),
            f"{metric_names} of each design (one bar per trace)"))

    if len(ok) >= 1 and {"energy_j", "latency_s"} <= set(ok.columns):
        front = pareto_front(ok, ["energy_j", "latency_s"])
        blocks += [Heading("Pareto front: energy vs latency", level),
                   Paragraph("Design points that no other point beats in both energy and latency, per trace."),
                   _design_table(front.head(MAX_TABLE_ROWS), keys, several_hw, relative, ["trace", "point"])]
        if figures is not None:
            blocks.append(figures.add(f"{prefix}pareto-energy-latency", lambda p: plots.pareto_plot(
                ok, front, "latency_s", "energy_j", p, by=series, label="design", relative=relative),
                "Energy vs latency; the line joins the Pareto front, whose points are labelled with their design"))
            if {"area_mm2", "edap_j_s_mm2"} <= set(ok.columns):
                front2 = pareto_front(ok, ["area_mm2", "edap_j_s_mm2"])
                blocks.append(figures.add(f"{prefix}pareto-edap-area", lambda p: plots.pareto_plot(
                    ok, front2, "area_mm2", "edap_j_s_mm2", p, by=series, label="design", relative=relative),
                    "EDAP vs area; the line joins the Pareto front, whose points are labelled with their design"))

    from archsim.report.accuracy import accuracy_blocks
    blocks += accuracy_blocks(ok, keys, figures, level, prefix)      # sweeps with an accuracy block (archsim.sweep.accuracy)
    plotted = [k for k in keys if ok[k].nunique() > 1] if len(ok) else []
    groups = varied_together(ok, plotted)[:MAX_SWEEP_KEYS_PLOTTED] if plotted else []
    if figures is not None and groups and metrics:
        blocks.append(Heading("Metrics against each swept key", level))
        from archsim.report.plots import SPLIT_STYLES
        for g in groups:
            k = g[0]
            together = f" ({', '.join(names[o] for o in g[1:])} varied with it: one plot for all)" if len(g) > 1 else ""
            # two independent keys with few values: one line per value of the other (a T x sparsity grid)
            other = [o[0] for o in groups if o is not g]
            split = other[0] if len(groups) == 2 and ok[other[0]].nunique() <= len(SPLIT_STYLES) else None
            line = (f"one line per {names[split]} (its line style)" if split else "line: median over the other keys")
            blocks.append(figures.add(f"{prefix}vs-{k}", lambda p, k=k, split=split: plots.metric_vs_param(
                ok, k, metrics, p, by=series, relative=relative, split=split),
                f"{metric_names} against {names[k]}{together} (dots: design points; {line})"))
    if len(failed):
        cols = [c for c in ["design", "point", "trace", *keys, "error"] if c in failed.columns]
        rows = [[r[c] for c in cols] for r in failed[cols].head(MAX_TABLE_ROWS).to_dict("records")]
        blocks += [Heading(f"Failed runs ({len(failed)})", level), Table([names.get(c, c) for c in cols], rows)]
    if len(table) <= MAX_TABLE_ROWS:
        blocks += [Heading("All runs", level), _design_table(table, keys, several_hw, relative, ["trace", "point", "status"])]
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

