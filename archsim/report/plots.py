"""The report's figures, drawn with matplotlib's object API on the Agg canvas (headless, no
pyplot state). Each function writes one PNG to ``path``."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DPI = 100


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _colors(n: int) -> list:
    from matplotlib import colormaps
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _wide(values, ratio: float = 20.0) -> bool:
    """Positive values spanning at least ``ratio``: plot them on a log axis."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=float)
    return len(v) > 1 and (v > 0).all() and v.max() / v.min() >= ratio


def per_op_breakdown(ops: pd.DataFrame, clock_mhz: float | None, path: Path, title: str) -> Path:
    """Per-layer latency (stacked compute / stall when the model reports them) and energy
    (stacked by component), one bar per op."""
    n = len(ops)
    fig = _figure(max(6.0, min(24.0, 0.32 * n + 2.5)), 6.0)
    ax_t, ax_e = fig.subplots(2, 1, sharex=True)
    x = np.arange(n)
    latency_us = ops["latency_s"].to_numpy(float) * 1e6
    if {"compute_cycles", "stall_cycles"} <= set(ops.columns) and clock_mhz:
        compute = ops["compute_cycles"].fillna(0).to_numpy(float) / clock_mhz
        stall = np.clip(latency_us - compute, 0, None)
        ax_t.bar(x, compute, label="compute", color="#4c72b0")
        ax_t.bar(x, stall, bottom=compute, label="stall (memory)", color="#dd8452")
        ax_t.legend(fontsize=8, loc="upper right")
    else:
        ax_t.bar(x, latency_us, color="#4c72b0")
    ax_t.set_ylabel("latency (µs)")
    ax_t.set_title(title, fontsize=10)

    comps = sorted(c for c in ops.columns if c.startswith("energy_pj."))   # same colours as runs_comparison
    bottom = np.zeros(n)
    for color, col in zip(_colors(len(comps)), comps):
        vals = ops[col].fillna(0).to_numpy(float) * 1e-6
        ax_e.bar(x, vals, bottom=bottom, label=col.split(".", 1)[1], color=color)
        bottom += vals
    if not comps:
        ax_e.bar(x, ops["energy_pj"].to_numpy(float) * 1e-6, color="#55a868")
    else:
        ax_e.legend(fontsize=8, loc="upper right", ncols=min(4, len(comps)))
    ax_e.set_ylabel("energy (µJ)")
    # At most ~70 labelled ticks: a label per op of an 800-op LLM would not fit (nor be read).
    step = max(1, math.ceil(n / 70))
    ax_e.set_xticks(x[::step], [str(o) for o in ops["op_id"].iloc[::step]], rotation=90, fontsize=7)
    return _save(fig, path)


def component_bars(energy_j: dict[str, float], area_mm2: dict[str, float], path: Path, title: str) -> Path:
    """Energy and area by component, horizontal bars with their share of the total."""
    panels = [(energy_j, 1e6, "energy (µJ)"), (area_mm2, 1.0, "area (mm²)")]
    panels = [p for p in panels if p[0]]
    fig = _figure(9.0, 0.9 + 0.32 * max(len(p[0]) for p in panels) if panels else 2.0)
    axes = np.atleast_1d(fig.subplots(1, max(1, len(panels))))
    for ax, (values, scale, label) in zip(axes, panels):
        items = sorted(values.items(), key=lambda kv: kv[1])
        names = [k for k, _ in items]
        vals = np.array([v for _, v in items], dtype=float) * scale
        total = vals.sum() or 1.0
        ax.barh(names, vals, color="#4c72b0")
        for i, v in enumerate(vals):
            ax.text(v, i, f" {100 * v / total:.1f} %", va="center", fontsize=8)
        ax.set_xlabel(label)
        ax.set_xlim(0, vals.max() * 1.25 if len(vals) and vals.max() > 0 else 1)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def runs_comparison(summaries: dict[str, dict[str, Any]], path: Path, title: str) -> Path:
    """Several runs side by side: energy stacked by component, and latency."""
    names = list(summaries)
    comps = sorted({c for s in summaries.values() for c in (s.get("energy_j_by_component") or {})})
    # run names are tick labels at 45 degrees: the figure grows with the longest one
    longest = max((len(n) for n in names), default=0)
    fig = _figure(max(7.0, min(24.0, 0.6 * len(names) + 4)), 3.2 + 0.065 * longest)
    ax_e, ax_t = fig.subplots(1, 2)
    x = np.arange(len(names))
    bottom = np.zeros(len(names))
    for color, c in zip(_colors(len(comps)), comps):
        vals = np.array([(summaries[n].get("energy_j_by_component") or {}).get(c, 0.0) for n in names]) * 1e6
        ax_e.bar(x, vals, bottom=bottom, label=c, color=color)
        bottom += vals
    ax_e.set_ylabel("energy (µJ)")
    ax_e.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    if comps:
        ax_e.legend(fontsize=6 if len(comps) > 8 else 7, ncols=math.ceil(len(comps) / 12))
    ax_t.bar(x, [summaries[n]["latency_s"] * 1e3 for n in names], color="#4c72b0")
    ax_t.set_ylabel("latency (ms)")
    ax_t.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


METRIC_LABELS = {"latency_s": "latency (s)", "energy_j": "energy (J)", "area_mm2": "area (mm²)",
                 "edap_j_s_mm2": "EDAP (J·s·mm²)", "tops_per_w": "TOPS/W", "tops_per_mm2": "TOPS/mm²",
                 "power_w": "power (W)", "tops": "TOPS"}


def metric_vs_param(table: pd.DataFrame, key: str, metrics: list[str], path: Path, by: str = "trace") -> Path:
    """Each metric against one swept key: every design point as a dot, the median over the other
    keys as a line, one colour per trace."""
    ncols = 2 if len(metrics) == 4 else len(metrics)
    nrows = math.ceil(len(metrics) / ncols)
    fig = _figure(4.2 * ncols, 3.2 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    groups = list(table.groupby(by, sort=False)) if by in table.columns else [("all", table)]
    numeric = pd.api.types.is_numeric_dtype(table[key])
    cats = sorted(table[key].astype(str).unique()) if not numeric else None
    for ax, metric in zip(axes, metrics):
        for color, (name, g) in zip(_colors(len(groups)), groups):
            xs = g[key].to_numpy(float) if numeric else np.array([cats.index(str(v)) for v in g[key]])
            ax.scatter(xs, g[metric], s=10, alpha=0.35, color=color)
            med = g.assign(_x=xs).groupby("_x")[metric].median()
            ax.plot(med.index, med.to_numpy(), "-o", ms=3, color=color, label=str(name))
        if numeric and _wide(table[key].to_numpy(float), 10.0):
            ax.set_xscale("log")
        if _wide(table[metric].to_numpy(float)):
            ax.set_yscale("log")
        if not numeric:
            ax.set_xticks(range(len(cats)), cats, rotation=45, ha="right", fontsize=8)
        ax.set_xlabel(key)
        ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    axes[0].legend(fontsize=8)
    return _save(fig, path)


def pareto_plot(table: pd.DataFrame, front: pd.DataFrame, x: str, y: str, path: Path, by: str = "trace") -> Path:
    """All design points and, highlighted and joined, the Pareto front of (x, y), per trace."""
    fig = _figure(6.5, 4.5)
    ax = fig.subplots()
    groups = list(table.groupby(by, sort=False)) if by in table.columns else [("all", table)]
    for color, (name, g) in zip(_colors(len(groups)), groups):
        ax.scatter(g[x], g[y], s=12, alpha=0.3, color=color)
        f = front[front[by] == name] if by in front.columns else front
        f = f.sort_values(x)
        ax.plot(f[x], f[y], "-o", ms=5, color=color, label=f"{name} (front: {len(f)})", drawstyle="steps-post")
    if _wide(table[x].to_numpy(float)):
        ax.set_xscale("log")
    if _wide(table[y].to_numpy(float)):
        ax.set_yscale("log")
    ax.set_xlabel(METRIC_LABELS.get(x, x))
    ax.set_ylabel(METRIC_LABELS.get(y, y))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)
