"""Layer-wise figures of a recipe (``layer_figures:``, :class:`archsim.report.recipe.LayerFigure`):
per-layer bars read from the runs' per-op tables (``ops.csv``), one group of bars per op, one bar
per run, each bar stacked by kind (e.g. DRAM values vs metadata), normalised to one run when the
figure says so, with the published per-layer values drawn as markers and tabulated beside
archsim's (archsim / published per op and run).

``layer_values(fig, ops)`` gathers the numbers (a test checks them against ops.csv);
``layer_bars`` draws them; ``layer_figure_blocks`` is the section a recipe page adds.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from archsim.errors import ArchsimError
from archsim.report.document import Heading, Paragraph, Table
from archsim.report.plots import FONT_PT, _figure, _legend, _save, _ticks, colors, wide
from archsim.report.units import scale_for

HATCHES = ["", "///", "..", "xx", "\\\\", "++"]     # one per stacked kind, on the run's colour
REST = "rest of the metric"


@dataclass
class LayerValues:
    ops: list[str]
    runs: dict[str, str]                             # label -> run
    total: dict[str, np.ndarray]                     # run -> metric per op
    parts: dict[str, dict[str, np.ndarray]]          # run -> kind -> summed columns per op
    published: dict[str, np.ndarray]                 # run -> published value per op (nan: none), metric unit
    norm: np.ndarray | None                          # per op divisor (normalize run's metric)
    labels: list[str] | None = None                  # per op tick label (the figure's ``label`` column)
    published_norm: np.ndarray | None = None         # per op divisor of the published values
    normalize_label: str = ""                        # the normalising run's legend label

    @property
    def names(self) -> list[str]:
        return self.labels or self.ops


def _column_sum(table: pd.DataFrame, pattern: str, where: str) -> np.ndarray:
    cols = [c for c in table.columns if fnmatch.fnmatchcase(c, pattern)]
    if not cols:
        raise ArchsimError(f"{where}: no ops.csv column matches '{pattern}'")
    return table[cols].fillna(0.0).to_numpy(float).sum(axis=1)


def layer_values(fig, ops: dict[str, pd.DataFrame]) -> LayerValues:
    """The numbers of one layer figure from the per-op tables ``ops`` (run -> DataFrame)."""
    first = next(iter(fig.runs.values()))
    wanted = list(fig.ops) if fig.ops is not None else [str(o) for o in ops[first]["op_id"]]
    total, parts = {}, {}

    def rows(run: str) -> pd.DataFrame:
        t = ops[run].assign(op_id=ops[run]["op_id"].astype(str)).set_index("op_id")
        missing = [o for o in wanted if o not in t.index]
        if missing:
            raise ArchsimError(f"layer figure '{fig.name}': run '{run}' has no op {missing[0]!r}")
        return t.loc[wanted].reset_index()

    for run in dict.fromkeys([*fig.runs.values(), *([fig.normalize] if fig.normalize else [])]):
        t = rows(run)
        where = f"layer figure '{fig.name}', run '{run}'"
        if fig.metric not in t.columns:
            raise ArchsimError(f"{where}: metric '{fig.metric}' is not an ops.csv column")
        total[run] = t[fig.metric].fillna(0.0).to_numpy(float)
        parts[run] = {k: _column_sum(t, pat, where) for k, pat in fig.stack.items()}
    if fig.stack:      # what the stacked kinds leave of the metric is drawn too, never dropped
        rest = {r: total[r] - sum(parts[r].values()) for r in total}
        if any((np.abs(rest[r]) > 1e-9 * np.maximum(np.abs(total[r]), 1.0)).any() for r in total):
            for r in total:
                parts[r][REST] = rest[r]
    published = {}
    if fig.published is not None:
        for run, vals in fig.published.values.items():
            if len(vals) != len(wanted):
                raise ArchsimError(f"layer figure '{fig.name}': {len(vals)} published values of '{run}' "
                                   f"for {len(wanted)} ops")
            published[run] = np.array([np.nan if v is None else v * fig.published.scale for v in vals])
    labels = None
    if fig.label:
        t = rows(first)
        if fig.label not in t.columns:
            raise ArchsimError(f"layer figure '{fig.name}': label column '{fig.label}' is not in ops.csv")
        labels = [f"{o} {lab}" if str(lab) != "nan" else o for o, lab in zip(wanted, t[fig.label])]
    # published values are normalised by the published value of the normalising run (each source
    # against its own reference, as the paper's normalised figure is drawn)
    pub_norm = published.get(fig.normalize) if fig.normalize else None
    norm_label = next((k for k, r in fig.runs.items() if r == fig.normalize), fig.normalize or "")
    return LayerValues(wanted, dict(fig.runs), total, parts, published,
                       total[fig.normalize] if fig.normalize else None, labels, pub_norm, norm_label)


def layer_bars(v: LayerValues, path: Path, title: str, unit: str = "") -> Path:
    """Grouped bars: per op one bar per run (its colour), stacked by kind (hatches), published
    values as black markers on the bar they belong to; normalised or human-scaled units."""
    labels = list(v.runs)
    n_ops, n_runs = len(v.ops), len(labels)
    norm = v.norm if v.norm is not None else np.ones(n_ops)
    norm = np.where(norm > 0, norm, np.nan)
    everything = [v.total[r] / norm for r in v.runs.values()]
    mult, shown_unit = (1.0, "") if v.norm is not None else scale_for(np.concatenate(everything), unit)
    width = min(0.8 / n_runs, 0.25)
    fig = _figure(min(11.0, 2.5 + 0.18 * n_ops * n_runs + 0.3 * n_ops), 4.8)
    ax = fig.subplots()
    handles, names = [], []
    run_colors = colors(labels)
    kinds = list(next(iter(v.parts.values())).keys()) if v.parts else []
    x = np.arange(n_ops)
    for i, (label, run) in enumerate(v.runs.items()):
        pos = x + (i - (n_runs - 1) / 2) * width
        scale = mult / norm
        if kinds:
            bottom = np.zeros(n_ops)
            for j, kind in enumerate(kinds):
                h = np.nan_to_num(v.parts[run][kind] * scale)
                bar = ax.bar(pos, h, width, bottom=bottom, color=run_colors[i], hatch=HATCHES[j % len(HATCHES)],
                             edgecolor="white" if j == 0 else "black", linewidth=0.3)
                bottom = bottom + h
                if j == 0:
                    handles.append(bar)
                    names.append(label)
        else:
            handles.append(ax.bar(pos, np.nan_to_num(v.total[run] * scale), width, color=run_colors[i]))
            names.append(label)
        if run in v.published:
            pub_scale = scale if v.norm is None else 1.0 / (v.published_norm if v.published_norm is not None else norm)
            ax.plot(pos, v.published[run] * pub_scale, "k_", ms=max(6.0, 60 * width), mew=2, linestyle="none")
    if v.published:
        from matplotlib.lines import Line2D
        handles.append(Line2D([], [], color="k", marker="_", ms=10, mew=2, linestyle="none"))
        names.append("published (per layer)")
    for j, kind in enumerate(kinds):
        from matplotlib.patches import Patch
        handles.append(Patch(facecolor="white", edgecolor="black", hatch=HATCHES[j % len(HATCHES)]))
        names.append(kind)
    values = np.concatenate([e * mult for e in everything])
    finite = values[np.isfinite(values) & (values > 0)]
    if wide(finite):
        ax.set_yscale("log")
    else:
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    _ticks(ax, x, v.names, rotation=45 if n_ops > 6 else 0)
    ax.set_ylabel(f"relative to {v.normalize_label}" if v.norm is not None else
                  (f"per layer ({shown_unit})" if shown_unit else "per layer"), fontsize=FONT_PT)
    ax.set_title(title, fontsize=FONT_PT + 1)
    ax.grid(axis="y", alpha=0.3)
    _legend(fig, handles, names)
    return _save(fig, path)


def layer_table(v: LayerValues, unit: str = "") -> Table:
    """Per op: archsim's value of each run (its unit scaled), the published one and their ratio."""
    mult, shown = scale_for(np.concatenate(list(v.total.values())), unit)
    headers, cols = ["op"], []
    for label, run in v.runs.items():
        headers.append(f"{label} ({shown})" if shown else label)
        cols.append(v.total[run] * mult)
        if run in v.published:
            headers += [f"{label} published ({shown})" if shown else f"{label} published",
                        f"{label} archsim / published"]
            cols += [v.published[run] * mult, v.total[run] / v.published[run]]
    rows = []
    for i, op in enumerate(v.ops):
        rows.append([v.names[i], *[None if not np.isfinite(c[i]) else float(c[i]) for c in cols]])
    return Table(headers, rows)


def layer_figure_blocks(recipe, out: Path | None, figures, level: int) -> list:
    """The layer-wise section of a recipe page (nothing when the recipe has no layer figures or its
    runs' files are not at hand)."""
    if not recipe.layer_figures or out is None:
        return []
    blocks: list = [Heading("Layer by layer", level)]
    for fig in recipe.layer_figures:
        runs = dict.fromkeys([*fig.runs.values(), *([fig.normalize] if fig.normalize else [])])
        paths = {r: Path(out) / r / "ops.csv" for r in runs}
        missing = [str(p) for p in paths.values() if not p.exists()]
        blocks.append(Heading(fig.title, level + 1))
        if missing:
            blocks.append(Paragraph(f"Not drawn: {missing[0]} is missing (run the recipe again)."))
            continue
        v = layer_values(fig, {r: pd.read_csv(p) for r, p in paths.items()})
        what = (f"{fig.metric} per op" + (f", stacked by {', '.join(fig.stack)}" if fig.stack else "")
                + (f", normalised to run {fig.normalize} on each op" if fig.normalize else ""))
        if fig.published is not None:
            what += "; black marks: the published values" + (", normalised to the published value of the same run"
                                                              if fig.normalize else "")
            blocks.append(Paragraph(f"Published values: {fig.published.source}. The table gives the absolute values "
                                    "and archsim / published per op."))
        if fig.note:
            blocks.append(Paragraph(fig.note.strip()))
        if figures is not None:
            blocks.append(figures.add(f"{recipe.name}-{fig.name}",
                                      lambda p, v=v, f=fig: layer_bars(v, p, f.title, f.unit), what))
        blocks.append(layer_table(v, fig.unit))
    return blocks
