"""The report's figures, drawn with matplotlib's object API on the Agg canvas (headless, no
pyplot state). Each function writes one PNG to ``path`` and returns the Figure.

Legible at any input size:

* at most :data:`MAX_SERIES` series per chart, each in its own colour (:data:`PALETTE` has no
  repeats); the smaller rest is summed (bars) or drawn in grey (points) as one "other" series;
* per-op charts show the :data:`TOP_OPS` ops that take most latency and energy, in trace
  order, and one bar for the rest;
* legends sit outside the axes, below them, wrapped into as many columns as fit;
* an axis whose values span more than two decades is logarithmic (:func:`wide`);
* no text under :data:`MIN_FONT_PT` points (9 px at the saved :data:`DPI`);
* values in human-scaled units (``mJ``, ``ms``), never an axis offset such as ``1e-6``.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archsim.report.units import scale_for

DPI = 100
MIN_FONT_PT = 8.0            # 11 px at 100 dpi (the floor the tests check is 9 px)
FONT_PT = 9.0                # ticks, legends, annotations
MAX_SERIES = 12              # colours in a chart, "other" included
TOP_OPS = 40                 # bars of a per-op chart besides "other"
ALL_OPS_UP_TO = 60           # up to this many ops, every op has its bar
DECADES = 2.0                # a wider span gets a log axis
MAX_WIDTH_IN = 11.0          # 1100 px: shown at its saved size in the report's 72rem column
# twelve colours that do not repeat (tab10 without its grey, and three of tab20b); grey is "other"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
           "#17becf", "#393b79", "#8ca252", "#ad494a"]
OTHER = "#9a9a9a"
OTHER_NAME = "other"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return fig


def colors(names: list[str]) -> list:
    """One colour per series name, none repeated; the series named "other..." is grey."""
    out, i = [], 0
    for n in names:
        if str(n).startswith(OTHER_NAME):
            out.append(OTHER)
        else:
            out.append(PALETTE[i % len(PALETTE)])
            i += 1
    if i > len(PALETTE):
        raise ValueError(f"{i} series for {len(PALETTE)} colours: group the rest with top_series()")
    return out


def top_series(weights: dict[str, float], n: int = MAX_SERIES) -> tuple[list[str], list[str]]:
    """(kept, rest): all names when there are at most ``n``; else the ``n - 1`` of largest weight
    (in their original order) and the rest, to be shown as one "other" series."""
    names = list(weights)
    if len(names) <= n:
        return names, []
    keep = set(sorted(names, key=lambda k: -abs(weights[k] or 0.0))[:n - 1])
    return [k for k in names if k in keep], [k for k in names if k not in keep]


def wide(values, decades: float = DECADES) -> bool:
    """Positive values spanning more than ``decades`` decades: plot them on a log axis."""
    v = np.asarray([x for x in np.ravel(np.asarray(values, dtype=float)) if np.isfinite(x) and x > 0])
    return len(v) > 1 and math.log10(v.max() / v.min()) > decades


def _axis_scale(ax, values, axis: str = "y") -> None:
    """Log when the values span more than two decades (and all shown values are >= 0); plain
    numbers without an offset otherwise."""
    vals = np.asarray(values, dtype=float)
    vals = vals[np.isfinite(vals)]
    if wide(vals) and (vals >= 0).all():
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    else:
        try:
            ax.ticklabel_format(axis=axis, useOffset=False, style="plain")
        except AttributeError:    # a categorical axis
            pass


def _wrap(label: Any, width: int = 28) -> str:
    return textwrap.fill(str(label), width) or " "


def _legend(fig, handles, labels, title: str | None = None) -> None:
    """A legend below the axes (outside them), wrapped into the columns that fit the width."""
    if not handles:
        return
    longest = max(len(line) for lab in labels for line in _wrap(lab).splitlines())
    entry_px = 75 + 7.5 * longest       # handle, padding and ~7.5 px per character at 9 pt
    ncols = max(1, min(len(handles), int(fig.get_figwidth() * DPI * 0.95 // entry_px)))
    fig.legend(handles, [_wrap(lab) for lab in labels], loc="outside lower center", ncols=ncols,
               fontsize=FONT_PT, title=title, title_fontsize=FONT_PT, frameon=False)


def _ticks(ax, positions, labels, rotation: int = 90, width: int = 24) -> None:
    short = [s if len(s) <= width else s[:width - 1] + "…" for s in map(str, labels)]
    ax.set_xticks(positions, short, rotation=rotation, ha="right" if rotation not in (0, 90) else "center",
                  fontsize=FONT_PT)


def _energy_scale(values_j, energy_unit: tuple[float, str] | None) -> tuple[float, str]:
    """(multiplier from joules, unit text): given (e.g. relative units), or the human SI prefix."""
    if energy_unit is not None:
        return energy_unit
    return scale_for(values_j, "J")


def top_ops(ops: pd.DataFrame, n: int = TOP_OPS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(shown, rest): every op when there are at most ``ALL_OPS_UP_TO``; else the ``n`` ops with
    the largest share of latency plus share of energy, in trace order, and the others."""
    if len(ops) <= ALL_OPS_UP_TO:
        return ops, ops.iloc[0:0]
    lat = ops["latency_s"].astype(float)
    en = ops["energy_pj"].astype(float)
    weight = lat / (lat.sum() or 1.0) + en / (en.sum() or 1.0)
    keep = weight.nlargest(n).index
    return ops.loc[sorted(keep)], ops.drop(index=keep)


def per_op_breakdown(ops: pd.DataFrame, clock_mhz: float | None, path: Path, title: str,
                     energy_unit: tuple[float, str] | None = None):
    """Per-op latency (stacked compute / memory stall when the model reports them) and energy
    (stacked by component): one bar per op, or the top ops and one bar for the rest."""
    shown, rest = top_ops(ops)
    labels = [str(o) for o in shown["op_id"]]
    if len(rest):
        labels.append(f"{OTHER_NAME} ({len(rest)} ops)")

    def column(col: str, scale: float = 1.0) -> np.ndarray:
        vals = shown[col].fillna(0).to_numpy(float) * scale if col in shown.columns else np.zeros(len(shown))
        if len(rest):
            vals = np.append(vals, (rest[col].fillna(0).to_numpy(float) * scale).sum() if col in rest else 0.0)
        return vals

    n = len(labels)
    fig = _figure(max(7.0, min(MAX_WIDTH_IN, 0.24 * n + 2.0)), 7.5)
    ax_t, ax_e = fig.subplots(2, 1, sharex=True)
    x = np.arange(n)
    lat_s = column("latency_s")
    t_mult, t_unit = scale_for(lat_s, "s")
    latency = lat_s * t_mult
    split = {"compute_cycles", "stall_cycles"} <= set(ops.columns) and bool(clock_mhz)
    names = ["compute", "stall (memory)"] if split else []
    comps = sorted(c for c in ops.columns if c.startswith("energy_pj."))
    e_mult, e_unit = _energy_scale(column("energy_pj") * 1e-12, energy_unit)
    # one legend, one palette for both panels: the latency split takes two of the colours
    kept, others = top_series({c: float(ops[c].fillna(0).sum()) for c in comps}, MAX_SERIES - len(names))
    series = [(c.split(".", 1)[1], column(c)) for c in kept]
    if others:
        series.append((f"{OTHER_NAME} ({len(others)} components)", sum(column(c) for c in others)))
    palette = colors(names + [s[0] for s in series])
    handles = []
    if split:
        compute = np.minimum(column("compute_cycles") / (clock_mhz * 1e6) * t_mult, latency)
        stall = np.clip(latency - compute, 0, None)
        handles.append(ax_t.bar(x, compute, color=palette[0]))
        handles.append(ax_t.bar(x, stall, bottom=compute, color=palette[1]))
    else:
        ax_t.bar(x, latency, color=PALETTE[0])
    _axis_scale(ax_t, latency)
    ax_t.set_ylabel(f"latency ({t_unit})")
    ax_t.set_title(title, fontsize=10)

    bottom = np.zeros(n)
    for color, (name, vals) in zip(palette[len(names):], series):
        vals = vals * 1e-12 * e_mult
        handles.append(ax_e.bar(x, vals, bottom=bottom, color=color))
        names.append(name)
        bottom += vals
    if not comps:
        bottom = column("energy_pj") * 1e-12 * e_mult
        ax_e.bar(x, bottom, color=PALETTE[2])
    _axis_scale(ax_e, bottom)
    ax_e.set_ylabel(f"energy ({e_unit})")
    _ticks(ax_e, x, labels)
    _legend(fig, handles, names)
    return _save(fig, path)


def component_bars(energy_j: dict[str, float], area_mm2: dict[str, float], path: Path, title: str,
                   energy_unit: tuple[float, str] | None = None, top: int = 15):
    """Energy and area by component, horizontal bars with their share of the total; the
    ``top - 1`` largest components and one bar for the rest."""
    e_mult, e_unit = _energy_scale(list(energy_j.values()), energy_unit)
    panels = [(energy_j, e_mult, f"energy ({e_unit})"), (area_mm2, 1.0, "area (mm²)")]
    panels = [p for p in panels if p[0]]

    def grouped(values: dict[str, float]) -> dict[str, float]:
        kept, rest = top_series(values, top)
        out = {k: values[k] for k in kept}
        if rest:
            out[f"{OTHER_NAME} ({len(rest)})"] = sum(values[k] for k in rest)
        return out

    panels = [(grouped(v), s, lab) for v, s, lab in panels]
    rows = max((len(p[0]) for p in panels), default=1)
    fig = _figure(MAX_WIDTH_IN, 1.2 + 0.3 * rows)
    axes = np.atleast_1d(fig.subplots(1, max(1, len(panels))))
    for ax, (values, scale, label) in zip(axes, panels):
        items = sorted(values.items(), key=lambda kv: kv[1])
        names = [k if len(k) <= 28 else k[:27] + "…" for k, _ in items]
        vals = np.array([v for _, v in items], dtype=float) * scale
        total = vals.sum() or 1.0
        ax.barh(np.arange(len(vals)), vals, color=[OTHER if k.startswith(OTHER_NAME) else PALETTE[0]
                                                   for k, _ in items])
        ax.set_yticks(np.arange(len(vals)), names, fontsize=FONT_PT)
        for i, v in enumerate(vals):
            ax.text(v, i, f" {100 * v / total:.1f} %", va="center", fontsize=FONT_PT)
        ax.set_xlabel(label)
        if wide(vals):
            ax.set_xscale("log")
            ax.set_xlim(vals[vals > 0].min() / 2, vals.max() * 8)
        else:
            ax.set_xlim(0, vals.max() * 1.3 if len(vals) and vals.max() > 0 else 1)
            ax.ticklabel_format(axis="x", useOffset=False, style="plain")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def runs_comparison(summaries: dict[str, dict[str, Any]], path: Path, title: str,
                    energy_unit: tuple[float, str] | None = None):
    """Several runs side by side: energy stacked by component (when the totals span at most two
    decades; otherwise the totals on a log axis and each run's shares by component), and latency."""
    names = list(summaries)
    by = {n: summaries[n].get("energy_j_by_component") or {} for n in names}
    comps = sorted({c for d in by.values() for c in d})
    totals_j = np.array([summaries[n]["energy_j"] for n in names], dtype=float)
    e_mult, e_unit = _energy_scale(totals_j, energy_unit)
    kept, others = top_series({c: sum(d.get(c, 0.0) for d in by.values()) for c in comps}, MAX_SERIES)
    series = [(c, np.array([by[n].get(c, 0.0) for n in names])) for c in kept]
    if others:
        series.append((f"{OTHER_NAME} ({len(others)} components)",
                       np.array([sum(by[n].get(c, 0.0) for c in others) for n in names])))
    split = wide(totals_j)
    longest = max((min(len(n), 24) for n in names), default=0)
    # one panel above the other, as wide as the page: run names are the ticks of each
    panels = 3 if split else 2
    fig = _figure(max(7.0, min(MAX_WIDTH_IN, 0.28 * len(names) + 2.5)), panels * 2.4 + 0.075 * longest + 1.2)
    axes = fig.subplots(panels, 1, sharex=True)
    x = np.arange(len(names))
    handles, labels = [], []
    ax_stack = axes[1] if split else axes[0]
    bottom = np.zeros(len(names))
    for color, (c, vals) in zip(colors([s[0] for s in series]), series):
        vals = vals / np.where(totals_j > 0, totals_j, 1.0) * 100 if split else vals * e_mult
        handles.append(ax_stack.bar(x, vals, bottom=bottom, color=color))
        labels.append(c)
        bottom += vals
    if split:
        axes[0].bar(x, totals_j * e_mult, color=PALETTE[0])
        axes[0].set_yscale("log")
        axes[0].set_ylabel(f"energy ({e_unit}, log)")
        ax_stack.set_ylabel("energy by component (%)")
        ax_stack.set_ylim(0, 100)
    else:
        ax_stack.set_ylabel(f"energy ({e_unit})")
        _axis_scale(ax_stack, bottom)
    lat = np.array([summaries[n]["latency_s"] for n in names], dtype=float)
    t_mult, t_unit = scale_for(lat, "s")
    ax_t = axes[-1]
    ax_t.bar(x, lat * t_mult, color=PALETTE[0])
    _axis_scale(ax_t, lat * t_mult)
    ax_t.set_ylabel(f"latency ({t_unit})")
    _ticks(axes[-1], x, names, rotation=45 if len(names) <= 12 else 90)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    _legend(fig, handles, labels)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


METRIC_UNITS = {"latency_s": ("latency", "s"), "energy_j": ("energy", "J"), "area_mm2": ("area", "mm²"),
                "edap_j_s_mm2": ("EDAP", "J·s·mm²"), "tops_per_w": ("TOPS/W", ""),
                "tops_per_mm2": ("TOPS/mm²", ""), "power_w": ("power", "W"), "tops": ("TOPS", "")}


def metric_label(metric: str, values, relative: bool = False) -> tuple[float, str]:
    """(multiplier, axis label) of a result column in human-scaled units; ``relative``: energy
    and what derives from it carry no unit."""
    name, unit = METRIC_UNITS.get(metric, (metric, ""))
    if relative and metric == "energy_j":     # the sum of the table's own numbers (written as pJ)
        return 1e12, f"{name} (relative, table units)"
    if relative and metric in ("power_w", "edap_j_s_mm2", "tops_per_w"):
        return 1.0, f"{name} (relative)"
    mult, scaled = scale_for(values, unit)
    return mult, f"{name} ({scaled})" if scaled else name


def _groups(table: pd.DataFrame, by: str) -> list[tuple[str, pd.DataFrame, str]]:
    """(name, rows, colour) per series: at most MAX_SERIES - 1 named ones (the largest), the
    rest as one grey "other"."""
    if by not in table.columns:
        return [("all", table, PALETTE[0])]
    groups = dict(list(table.groupby(by, sort=False)))
    kept, rest = top_series({k: len(g) for k, g in groups.items()}, MAX_SERIES)
    out = [(str(k), groups[k]) for k in kept]
    if rest:
        out.append((f"{OTHER_NAME} ({len(rest)})", pd.concat([groups[k] for k in rest])))
    return [(n, g, c) for (n, g), c in zip(out, colors([n for n, _ in out]))]


SPLIT_STYLES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3))]
SPLIT_MARKERS = ["o", "s", "^", "D", "v", "P"]


def metric_vs_param(table: pd.DataFrame, key: str, metrics: list[str], path: Path, by: str = "trace",
                    relative: bool = False, legend_title: str | None = None, split: str | None = None):
    """Each metric against one swept key: every design point as a dot, the median over the other
    keys as a line, one colour per ``by`` value (at most 12, the rest grey). ``split``: another
    swept key with at most len(SPLIT_STYLES) values; one line per value of it (its own line style)
    instead of the median, so that a T x sparsity grid reads as curves, not as a median of both."""
    def split_of(col: pd.Series) -> pd.Series:     # null (the trace's own value) as a value of its own
        return col.map(lambda v: "null" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
    splits = sorted(split_of(table[split]).unique(), key=lambda v: (isinstance(v, str), v)) if split else [None]
    if len(splits) > len(SPLIT_STYLES):
        raise ValueError(f"split key {split!r} has {len(splits)} values; at most {len(SPLIT_STYLES)}")
    ncols = 2 if len(metrics) == 4 else min(3, len(metrics))
    nrows = math.ceil(len(metrics) / ncols)
    fig = _figure(min(MAX_WIDTH_IN, 4.6 * ncols), 3.4 * nrows + 0.8)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    groups = _groups(table, by)
    numeric = pd.api.types.is_numeric_dtype(table[key]) and not pd.api.types.is_bool_dtype(table[key])
    cats = sorted(table[key].astype(str).unique()) if not numeric else None
    handles, labels = [], []
    for i, (ax, metric) in enumerate(zip(axes, metrics)):
        mult, ylabel = metric_label(metric, table[metric], relative)
        for name, whole, color in groups:
            for j, value in enumerate(splits):
                g = whole if split is None else whole[split_of(whole[split]) == value]
                if not len(g):
                    continue
                xs = g[key].to_numpy(float) if numeric else np.array([cats.index(str(v)) for v in g[key]])
                ys = g[metric].to_numpy(float) * mult
                ax.scatter(xs, ys, s=12, alpha=0.35, color=color)
                med = pd.Series(ys).groupby(xs).median()
                (line,) = ax.plot(med.index, med.to_numpy(), linestyle=SPLIT_STYLES[j], marker=SPLIT_MARKERS[j], ms=3,
                                  color=color)
                if i == 0:
                    handles.append(line)
                    short = split.rsplit(".", 1)[-1] if split else ""
                    labels.append(name if split is None else f"{name}, {short} = {value:g}"
                                  if isinstance(value, (int, float)) else f"{name}, {short} = {value}")
        if numeric:
            _axis_scale(ax, table[key].to_numpy(float), "x")
        else:
            _ticks(ax, range(len(cats)), cats, rotation=45)
        _axis_scale(ax, table[metric].to_numpy(float) * mult)
        ax.set_xlabel(key)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    _legend(fig, handles, labels, legend_title)
    return _save(fig, path)


def _label_points(fig, ax, points: list[tuple[str, float, float, Any]], max_labels: int) -> int:
    """Write each point's label beside it where it overlaps no label already written (trying
    four sides), at most ``max_labels``; returns how many were written."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes, n = [], 0
    for text, px, py, color in points:
        if n >= max_labels:
            break
        for dx, dy, ha, va in ((5, 4, "left", "bottom"), (5, -4, "left", "top"), (-5, 4, "right", "bottom"),
                               (-5, -4, "right", "top")):
            t = ax.annotate(text, (px, py), xytext=(dx, dy), textcoords="offset points", fontsize=FONT_PT,
                            color=color, ha=ha, va=va)
            box = t.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in boxes) and ax.get_window_extent(renderer).contains(box.x0, box.y0):
                boxes.append(box)
                n += 1
                break
            t.remove()
    return n


def pareto_plot(table: pd.DataFrame, front: pd.DataFrame, x: str, y: str, path: Path, by: str = "trace",
                label: str | None = None, relative: bool = False, legend_title: str | None = None,
                max_labels: int = 16):
    """All design points and, highlighted and joined, the Pareto front of (x, y), per ``by``
    value; the front's points are labelled with their ``label`` column (at most ``max_labels``)."""
    fig = _figure(8.0, 6.0)
    ax = fig.subplots()
    x_mult, x_label = metric_label(x, table[x], relative)
    y_mult, y_label = metric_label(y, table[y], relative)
    handles, labels, pending = [], [], []
    for name, g, color in _groups(table, by):
        ax.scatter(g[x] * x_mult, g[y] * y_mult, s=14, alpha=0.3, color=color)
        f = front[front[by].astype(str) == name] if by in front.columns else front
        f = f.sort_values(x)
        (line,) = ax.plot(f[x] * x_mult, f[y] * y_mult, "-o", ms=5, color=color, drawstyle="steps-post")
        handles.append(line)
        labels.append(f"{name} (front: {len(f)})")
        if label is not None and label in f.columns:
            pending += [(str(r[label]), r[x] * x_mult, r[y] * y_mult, color) for _, r in f.iterrows()]
    _axis_scale(ax, table[x].to_numpy(float) * x_mult, "x")
    _axis_scale(ax, table[y].to_numpy(float) * y_mult, "y")
    _label_points(fig, ax, pending, max_labels)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(alpha=0.3)
    _legend(fig, handles, labels, legend_title)
    return _save(fig, path)


def designs_bars(table: pd.DataFrame, label: str, metrics: list[str], path: Path, by: str = "trace",
                 relative: bool = False, legend_title: str | None = None):
    """A few designs side by side: one panel per metric, one group of bars per design (named by
    its ``label``), one bar per ``by`` value (at most 12 colours; the rest as their median,
    "other")."""
    designs = list(dict.fromkeys(table[label].astype(str)))
    groups = _groups(table, by)
    n = len(groups)
    width = 0.8 / n
    longest = max((min(len(d), 24) for d in designs), default=0)
    fig = _figure(max(7.0, min(MAX_WIDTH_IN, 0.25 * len(designs) * max(1, n) + 2.5)),
                  1.9 * len(metrics) + 0.075 * longest + 1.0)
    axes = np.atleast_1d(fig.subplots(len(metrics), 1, sharex=True))
    x = np.arange(len(designs))
    handles = []
    for ax, metric in zip(axes, metrics):
        mult, ylabel = metric_label(metric, table[metric], relative)
        shown = []
        for j, (name, g, color) in enumerate(groups):
            vals = g.assign(_d=g[label].astype(str)).groupby("_d")[metric].median().reindex(designs).to_numpy(float)
            bars = ax.bar(x + (j - (n - 1) / 2) * width, vals * mult, width, color=color)
            shown.append(vals * mult)
            if ax is axes[0]:
                handles.append(bars)
        _axis_scale(ax, np.concatenate(shown))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
    _ticks(axes[-1], x, designs, rotation=45 if len(designs) <= 12 else 90, width=24)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    _legend(fig, handles, [name for name, _, _ in groups], legend_title)
    return _save(fig, path)
