"""Accuracy in sweep reports: the (accuracy, EDAP, area) Pareto front with seed error bars, and
accuracy against time after programming (conductance drift).

``accuracy_blocks(ok, keys, figures)`` is what a sweep page adds when its table has
``accuracy_mean`` (:mod:`archsim.sweep.accuracy`): the front over accuracy (maximised), EDAP
and area (minimised), its table, and the figure accuracy vs EDAP with each point's seed
standard deviation as an error bar, front points joined.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from archsim.report.document import Heading, Paragraph, Table
from archsim.report.plots import FONT_PT, _figure, _save, colors, wide

FRONT_METRICS = ["accuracy_mean:max", "edap_j_s_mm2", "area_mm2"]
MAX_ROWS = 60


def accuracy_front(ok: pd.DataFrame) -> pd.DataFrame:
    from archsim.sweep.pareto import pareto_front
    return pareto_front(ok, FRONT_METRICS)


def accuracy_edap_plot(table: pd.DataFrame, front: pd.DataFrame, path: Path, x: str = "edap_j_s_mm2",
                       by: str = "trace") -> Path:
    """Accuracy (mean over seeds, bars: std) against ``x`` for every point; the points of the
    (accuracy, EDAP, area) front highlighted and joined."""
    fig = _figure(6.5, 4.5)
    ax = fig.subplots()
    groups = list(table.groupby(by, sort=False)) if by in table.columns else [("all", table)]
    for color, (name, g) in zip(colors([str(n) for n, _ in groups]), groups):
        ax.errorbar(g[x], 100 * g["accuracy_mean"], yerr=100 * g["accuracy_std"].fillna(0), fmt="o", ms=4,
                    alpha=0.35, color=color, capsize=2)
        f = front[front[by] == name] if by in front.columns else front
        f = f.sort_values(x)
        ax.errorbar(f[x], 100 * f["accuracy_mean"], yerr=100 * f["accuracy_std"].fillna(0), fmt="-o", ms=6,
                    color=color, capsize=3, label=f"{name} (front: {len(f)})")
    if wide(table[x].to_numpy(float)):
        ax.set_xscale("log")
    ax.set_xlabel(f"{x} (log)" if wide(table[x].to_numpy(float)) else x)
    ax.set_ylabel("accuracy, % (bars: std over seeds)")
    ax.legend(fontsize=FONT_PT)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def accuracy_vs_time_plot(rows: pd.DataFrame, path: Path, time: str = "time_s", label: str = "device") -> Path:
    """Accuracy against time after programming (log axis), one line per ``label`` value, bars:
    std over seeds. ``rows`` has columns ``time``, ``label``, accuracy_mean, accuracy_std."""
    fig = _figure(6.5, 4.2)
    ax = fig.subplots()
    groups = list(rows.groupby(label, sort=False))
    for color, (name, g) in zip(colors([str(n) for n, _ in groups]), groups):
        g = g.sort_values(time)
        ax.errorbar(g[time], 100 * g["accuracy_mean"], yerr=100 * g["accuracy_std"].fillna(0), fmt="-o", ms=5,
                    color=color, capsize=3, label=str(name))
    ax.set_xscale("log")
    marks = {1: "1 s", 3600: "1 h", 86400: "1 day", 2.592e6: "1 month", 3.1536e7: "1 year"}
    ax.set_xticks(list(marks), list(marks.values()))
    ax.set_xlabel("time after programming")
    ax.set_ylabel("accuracy, % (bars: std over seeds)")
    ax.legend(fontsize=FONT_PT, loc="lower left")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def accuracy_blocks(ok: pd.DataFrame, keys: list[str], figures, level: int = 2, prefix: str = "") -> list:
    """The accuracy section of a sweep page (nothing when the table has no accuracy)."""
    if "accuracy_mean" not in ok.columns or not len(ok) or not {"edap_j_s_mm2", "area_mm2"} <= set(ok.columns):
        return []
    front = accuracy_front(ok)
    cols = ["trace", "point", *keys, "accuracy_mean", "accuracy_std", "edap_j_s_mm2", "area_mm2", "energy_j",
            "latency_s"]
    cols = [c for c in dict.fromkeys(cols) if c in front.columns]
    rows = [[r[c] for c in cols] for r in front[cols].head(MAX_ROWS).to_dict("records")]
    blocks = [Heading("Pareto front: accuracy vs EDAP and area", level),
              Paragraph(f"Design points that no other point beats in accuracy (mean over seeds, maximised), "
                        f"EDAP and area, per trace: {len(front)} of {len(ok)}."),
              Table(cols, rows)]
    if figures is not None:
        blocks.append(figures.add(f"{prefix}pareto-accuracy-edap", lambda p: accuracy_edap_plot(ok, front, p),
                                  "Accuracy vs EDAP (bars: std over seeds); the line joins the (accuracy, EDAP, "
                                  "area) front"))
    time_key = next((k for k in keys if k.endswith("drift.time_s")), None)
    if time_key is not None and ok[time_key].nunique() > 1:
        # one line per combination of the other swept keys, leaving out those zipped with the time
        # (a refresh interval that follows it): they vary along a line, not between lines
        others = [k for k in keys if k != time_key and ok[k].nunique() > 1
                  and ok.groupby(time_key)[k].nunique().max() > 1]
        rows = ok.assign(time_s=ok[time_key].astype(float),
                         device=ok[others].astype(str).agg(", ".join, axis=1) if others else ok["trace"])
        cols = ["device", "time_s", "accuracy_mean", "accuracy_std", "energy_j", "edap_j_s_mm2"]
        cols = [c for c in cols if c in rows.columns]
        blocks += [Heading("Accuracy against time after programming (conductance drift)", level),
                   Paragraph(f"One line per value of {', '.join(others) or 'trace'}; time is {time_key}."),
                   Table(cols, [[r[c] for c in cols] for r in rows.sort_values(["device", "time_s"])[cols]
                                .head(MAX_ROWS).to_dict("records")])]
        if figures is not None:
            blocks.append(figures.add(f"{prefix}accuracy-vs-time", lambda p: accuracy_vs_time_plot(rows, p),
                                      "Accuracy vs time after programming (bars: std over seeds)"))
    return blocks


ENERGY_FRONT = ["accuracy_mean:max", "energy_j"]


def front_tables(sweep_dir: str | Path, metrics: list[str] | None = None, by: str | None = "trace",
                 plot: Path | None = None) -> dict:
    """The Pareto front of a finished sweep as a recipe table file (``{"tables": [...]}``,
    :class:`archsim.report.recipe.TableRef`; ``archsim pareto DIR METRICS --table FILE``): the
    points no other point beats in every metric (default: accuracy, the mean over seeds,
    maximised, and energy), per ``by``, sorted by the last metric, with the swept settings, the
    seed spread, energy, EDAP and area. ``plot``: when accuracy is one of the metrics, also draw
    accuracy against the first other one there (every point, bars: seed std; the front joined)."""
    import json

    from archsim.errors import ArchsimError
    from archsim.sweep.pareto import pareto_front
    from archsim.sweep.store import MANIFEST_FILE, load_table

    metrics = list(metrics or ENERGY_FRONT)
    names = [m.partition(":")[0] for m in metrics]
    table = load_table(sweep_dir)
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    if not len(ok):
        raise ArchsimError(f"{sweep_dir}: no design point finished ('status' ok)")
    manifest = Path(sweep_dir) / MANIFEST_FILE
    keys = json.loads(manifest.read_text()).get("keys", []) if manifest.exists() else []
    keys = [k for k in keys if k in ok.columns and ok[k].nunique() > 1]
    front = pareto_front(ok, metrics, by=by)
    front = front.sort_values([c for c in (by, names[-1]) if c in front.columns])
    cols = ["trace", *keys, *names, "accuracy_mean", "accuracy_std", "energy_j", "edap_j_s_mm2", "area_mm2"]
    cols = [c for c in dict.fromkeys(cols) if c in front.columns]
    rows = [[_plain(r[c]) for c in cols] for r in front[cols].to_dict("records")]
    notes = (f"{len(front)} of {len(ok)} design points are on the front of {', '.join(metrics)}"
             f"{f' (one front per {by})' if by else ''}. Swept: {', '.join(keys) or 'nothing'}.")
    if "accuracy_seeds" in ok.columns:
        notes += (f" Accuracy: mean over {int(ok['accuracy_seeds'].max())} noise seeds; accuracy_std: their "
                  "standard deviation.")
    others = [n for n in names if n != "accuracy_mean"]
    if plot is not None and "accuracy_mean" in names and others:
        accuracy_edap_plot(ok, front, plot, x=others[0], by=by or "trace")
        notes += f" Plot: {plot.name} beside this file."
    return {"tables": [{"title": f"Pareto front of {', '.join(metrics)} ({Path(sweep_dir).name})", "columns": cols,
                        "rows": rows, "notes": notes}]}


def _plain(value):
    """JSON-safe cell: numpy scalars to Python, NaN to None."""
    if hasattr(value, "item"):
        value = value.item()
    return None if isinstance(value, float) and value != value else value
