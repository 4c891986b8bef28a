"""Every kind of report figure drawn from large synthetic inputs (60 series, 800 ops, values
spanning six decades), checked against the legibility rules of archsim/report/plots.py: the
image's size, at most 12 series in a legend, no colour repeated within a chart, no text under
9 px at the saved size, log axes where the values span more than two decades, legends outside
the axes, no axis offset text. (Invariants of our own rules; no published value involved.)"""
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

from archsim.report import plots

MAX_PX = 1100          # wide figures would be shrunk by the page (72rem column)


def _rng():
    return np.random.default_rng(20)


def big_ops(n_ops: int = 800, n_comps: int = 60) -> pd.DataFrame:
    rng = _rng()
    scale = 10.0 ** rng.uniform(0, 6, n_ops)               # six decades between ops
    ops = pd.DataFrame({"op_id": [f"layer{i:03d}.attention.qkv_projection" for i in range(n_ops)],
                        "latency_s": 1e-6 * scale, "compute_cycles": 300 * scale, "stall_cycles": 200 * scale})
    shares = rng.dirichlet(np.ones(n_comps), n_ops)
    for j in range(n_comps):
        ops[f"energy_pj.engine{j % 3}/component_{j:02d}_with_a_long_name"] = 1e3 * scale * shares[:, j]
    ops["energy_pj"] = ops[[c for c in ops.columns if c.startswith("energy_pj.")]].sum(axis=1)
    return ops


def big_summaries(n_runs: int = 24, n_comps: int = 60) -> dict:
    rng = _rng()
    out = {}
    for i in range(n_runs):
        total = 3.7e-6 * 10 ** (6 * i / (n_runs - 1))          # 3.7 µJ ... 3.7 J
        shares = rng.dirichlet(np.ones(n_comps))
        out[f"run-{i:02d}-a-rather-long-run-name"] = {
            "energy_j": total, "latency_s": 1e-5 * 10 ** rng.uniform(0, 6),
            "energy_j_by_component": {f"engine/component_{j:02d}": total * s for j, s in enumerate(shares)}}
    return out


def big_sweep(n_designs: int = 60) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = _rng()
    rows = []
    for d in range(n_designs):
        for rows_ in (8, 16, 32, 64):
            s = 10 ** rng.uniform(0, 6)
            rows.append({"design": f"design {d:02d} rows={rows_}", "trace": f"trace-{d}", "params.rows": rows_,
                         "latency_s": 1e-6 * s, "energy_j": 1e-9 * s * rng.uniform(0.5, 2),
                         "area_mm2": rng.uniform(0.1, 10), "edap_j_s_mm2": 1e-15 * s * s})
    table = pd.DataFrame(rows)
    from archsim.sweep.pareto import pareto_front
    return table, pareto_front(table, ["energy_j", "latency_s"])


def texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def check_figure(fig, path: Path, log_axes: int):
    img = matplotlib.image.imread(path)
    h, w = img.shape[:2]
    assert w <= MAX_PX and h <= 2 * MAX_PX, (w, h)
    assert path.stat().st_size < 600_000
    # fonts: nothing under 9 px at the saved size (1 pt = dpi / 72 px)
    smallest = min(t.get_fontsize() * fig.dpi / 72 for t in texts(fig))
    assert smallest >= 9, smallest
    # legends: outside every axes (below them), at most 12 entries, colours not repeated
    for legend in fig.legends:
        entries = [t.get_text() for t in legend.get_texts()]
        assert len(entries) <= plots.MAX_SERIES, len(entries)
        handles = legend.legend_handles
        colours = [tuple(np.round(matplotlib.colors.to_rgba(
            h.get_facecolor() if hasattr(h, "get_facecolor") and not hasattr(h, "get_color") else h.get_color()), 3))
            for h in handles]
        assert len(set(colours)) == len(colours), colours
        renderer = fig.canvas.get_renderer()
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            assert not box.overlaps(ax.get_window_extent(renderer)), "legend over the axes"
    for ax in fig.axes:
        assert not ax.get_legend(), "legend inside the axes"
        for axis in (ax.xaxis, ax.yaxis):
            assert not axis.get_offset_text().get_text(), "axis offset text (e.g. 1e-6)"
    logs = sum(ax.get_yscale() == "log" for ax in fig.axes) + sum(ax.get_xscale() == "log" for ax in fig.axes)
    assert logs >= log_axes, logs


import matplotlib.colors  # noqa: E402


def test_per_op_chart_of_800_ops_and_60_components(tmp_path):
    fig = plots.per_op_breakdown(big_ops(), 500.0, tmp_path / "ops.png", "800 ops")
    # the 40 largest ops and the sum of the rest span less than two decades here: linear axes
    check_figure(fig, tmp_path / "ops.png", log_axes=0)
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert len(labels) == plots.TOP_OPS + 1 and labels[-1] == "other (760 ops)"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[:2] == ["compute", "stall (memory)"]
    assert len(legend) == plots.MAX_SERIES and legend[-1].startswith("other (51")


def test_per_op_chart_spanning_six_decades_is_logarithmic(tmp_path):
    ops = big_ops(50, 60)
    ops.loc[0, ["latency_s", "energy_pj"]] = [1e-6 * ops["latency_s"].max(), 1e-6 * ops["energy_pj"].max()]
    fig = plots.per_op_breakdown(ops, 500.0, tmp_path / "ops.png", "50 ops")
    check_figure(fig, tmp_path / "ops.png", log_axes=2)
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log"]
    assert len(fig.axes[1].get_xticklabels()) == 50


def test_per_op_chart_of_few_ops_is_linear_with_every_op(tmp_path):
    ops = big_ops(12, 3)
    ops["latency_s"] = np.linspace(1, 2, 12) * 1e-6
    ops["compute_cycles"], ops["stall_cycles"] = 300.0, 200.0
    for c in [c for c in ops.columns if c.startswith("energy_pj")]:
        ops[c] = np.linspace(1, 3, 12)
    fig = plots.per_op_breakdown(ops, 500.0, tmp_path / "ops.png", "12 ops")
    check_figure(fig, tmp_path / "ops.png", log_axes=0)
    assert all(ax.get_yscale() == "linear" for ax in fig.axes)
    assert len(fig.axes[1].get_xticklabels()) == 12


def test_component_bars_with_60_components(tmp_path):
    # the 14 largest span six decades; 46 small ones become "other"
    energy = {f"component_{j:02d}": 10 ** (-3 - 6 * j / 13) if j < 14 else 1e-12 for j in range(60)}
    area = {f"component_{j:02d}": 10 ** (-6 * j / 13) if j < 14 else 1e-9 for j in range(60)}
    fig = plots.component_bars(energy, area, tmp_path / "c.png", "60 components")
    check_figure(fig, tmp_path / "c.png", log_axes=2)
    for ax in fig.axes:
        names = [t.get_text() for t in ax.get_yticklabels()]
        assert len(names) == 15 and "other (46)" in names


def test_runs_comparison_of_24_runs_spanning_six_decades(tmp_path):
    fig = plots.runs_comparison(big_summaries(), tmp_path / "r.png", "24 runs")
    check_figure(fig, tmp_path / "r.png", log_axes=2)     # the totals and the latencies
    assert len(fig.axes) == 3                             # totals (log), shares by component, latency
    assert fig.axes[0].get_yscale() == "log" and fig.axes[1].get_ylim() == (0, 100)


def test_runs_comparison_in_a_narrow_range_stacks_energy_linearly(tmp_path):
    s = big_summaries(4, 5)
    for v in s.values():
        v["energy_j"], v["latency_s"] = 2e-3, 1e-3
        v["energy_j_by_component"] = {k: 4e-4 for k in v["energy_j_by_component"]}
    fig = plots.runs_comparison(s, tmp_path / "r.png", "4 runs")
    check_figure(fig, tmp_path / "r.png", log_axes=0)
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() == "energy (mJ)"


@pytest.mark.parametrize("by", ["design", "trace"])
def test_sweep_plots_of_60_designs(tmp_path, by):
    table, front = big_sweep()
    fig = plots.metric_vs_param(table, "params.rows", ["latency_s", "energy_j", "area_mm2", "edap_j_s_mm2"],
                                tmp_path / "m.png", by=by)
    check_figure(fig, tmp_path / "m.png", log_axes=3)      # latency, energy, EDAP; rows 8..64 stays linear
    fig = plots.pareto_plot(table, front, "latency_s", "energy_j", tmp_path / "p.png", by=by, label="design")
    check_figure(fig, tmp_path / "p.png", log_axes=2)
    annotations = [t for t in fig.axes[0].texts if t.get_text()]
    assert 0 < len(annotations) <= 16


def test_colours_never_repeat_and_more_series_than_colours_is_an_error():
    names = [f"s{i}" for i in range(plots.MAX_SERIES)]
    assert len(set(plots.colors(names))) == plots.MAX_SERIES
    with pytest.raises(ValueError, match="top_series"):
        plots.colors(names + ["one more"])
    kept, rest = plots.top_series({f"s{i}": i for i in range(60)})
    assert len(kept) == plots.MAX_SERIES - 1 and len(rest) == 49 and kept[-1] == "s59"


def test_metric_vs_param_split_draws_one_line_per_value_of_the_other_key(tmp_path):
    """A T x sparsity grid: one line per sparsity (null included) and trace, each the exact values,
    not a median over the sparsities; a family present only at some points draws what it has."""
    rows = []
    for T in (4, 6, 8):
        for ws in (None, 0.5, 0.9):
            rows.append({"trace": "stats", "workload.timesteps": T, "workload.weight_sparsity": ws,
                         "latency_s": T * (2.0 - (ws or 0.98)), "energy_j": 1e-9 * T})
    rows.append({"trace": "real", "workload.timesteps": 8, "workload.weight_sparsity": 0.9,
                 "latency_s": 5.0, "energy_j": 2e-9})
    table = pd.DataFrame(rows)
    fig = plots.metric_vs_param(table, "workload.timesteps", ["latency_s", "energy_j"], tmp_path / "s.png",
                                split="workload.weight_sparsity")
    ax = fig.axes[0]
    lines = {tuple(l.get_xdata()): list(l.get_ydata()) for l in ax.get_lines()}
    assert len(ax.get_lines()) == 4                  # stats x (null, 0.5, 0.9) + real x 0.9
    assert lines[(4.0, 6.0, 8.0)] in ([4 * 1.02, 6 * 1.02, 8 * 1.02], [4 * 1.5, 6 * 1.5, 8 * 1.5],
                                      [4 * 1.1, 6 * 1.1, 8 * 1.1])
    assert lines[(8.0,)] == [5.0]
    legend = [" ".join(t.get_text().split()) for t in fig.legends[0].get_texts()] if fig.legends else []
    assert "stats, weight_sparsity = null" in legend and "real, weight_sparsity = 0.9" in legend
    with pytest.raises(ValueError, match="at most"):
        many = pd.DataFrame([{"trace": "t", "a": a, "b": b, "latency_s": 1.0} for a in range(2) for b in range(9)])
        plots.metric_vs_param(many, "a", ["latency_s"], tmp_path / "m.png", split="b")
