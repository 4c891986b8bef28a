"""Layer-wise figures of a recipe (``layer_figures:``) and checks on one op of a run (``op:``).
Compared against: the runs' own ops.csv (the figure's and the check's numbers are read from it,
nothing recomputed), and the LoAS recipe's published per-layer values against the authors'
counters kept in archsim (our own copy of loas.md 7.3: a consistency check, not validation)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from archsim.errors import ArchsimError
from archsim.report.layers import layer_values
from archsim.report.recipe import Recipe, load_recipe, run_recipe

REPO = Path(__file__).resolve().parents[2]


def _recipe(tmp_path, published: str = "[1.0, 2.0]") -> Path:
    """Two layers of the AlexNet statistics trace (the two smallest) on LoAS-FT and Gamma-S."""
    trace, skip = f"{REPO}/examples/loas_paper/alexnet.trace", "[Layer_2, Layer_3]"
    path = tmp_path / "lw.yaml"
    path.write_text(
        "name: lw\nruns:\n"
        f"  - {{name: loasft, trace: {trace}, hw: {REPO}/hw_configs/loas_paper.yaml, set: {{params.strong_silent: true}},"
        f" skip_ops: {skip}}}\n"
        f"  - {{name: gamma, trace: {trace}, hw: {REPO}/hw_configs/gamma_s_paper.yaml, skip_ops: {skip}}}\n"
        "checks:\n"
        "  - {kind: derived, name: one op, metric: traffic_bytes.dram, op: Layer_4, run: loasft, published: 1.0e+5,"
        " tolerance: 100, source: test}\n"
        "  - {kind: derived, name: op ratio, metric: traffic_bytes.dram, op: Layer_1, ratio: [gamma, loasft],"
        " published: 2.0, tolerance: 100, source: test}\n"
        "layer_figures:\n"
        "  - {name: dram, title: DRAM per layer, metric: traffic_bytes.dram, unit: B, label: tag.conv,\n"
        "     runs: {Gamma-S: gamma, LoAS-FT: loasft}, normalize: loasft,\n"
        "     stack: {values: 'dram_values_bytes.*', metadata: 'dram_metadata_bytes.*'},\n"
        f"     published: {{source: test, scale: 1024, values: {{gamma: {published}, loasft: [1.0, 1.0]}}}}}}\n")
    return path


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lw")
    return tmp_path, run_recipe(_recipe(tmp_path), tmp_path / "out")


def test_op_checks_and_layer_figure(ran):
    from archsim.report.pages import report_dir

    tmp_path, out = ran
    ops = {r: pd.read_csv(tmp_path / "out" / "lw" / r / "ops.csv") for r in ("loasft", "gamma")}
    dram = {r: dict(zip(t["op_id"], t["traffic_bytes.dram"])) for r, t in ops.items()}
    by = {c["check"]: c for c in out["checks"]}
    assert by["one op"]["archsim"] == dram["loasft"]["Layer_4"] and by["one op"]["metric"].endswith("(op Layer_4)")
    assert by["op ratio"]["archsim"] == pytest.approx(dram["gamma"]["Layer_1"] / dram["loasft"]["Layer_1"], rel=1e-12)

    fig = out["recipe"].layer_figures[0]
    v = layer_values(fig, ops)
    assert v.ops == ["Layer_1", "Layer_4"] and v.names == ["Layer_1 conv2", "Layer_4 conv5"]
    for run in ("loasft", "gamma"):
        assert v.total[run].tolist() == [dram[run]["Layer_1"], dram[run]["Layer_4"]]
        # the stacked kinds make up the whole DRAM traffic of every op (values + metadata)
        np.testing.assert_allclose(sum(v.parts[run].values()), v.total[run], rtol=1e-12)
        assert (v.parts[run]["metadata"] > 0).all()
    assert v.published["gamma"].tolist() == [1024.0, 2048.0] and v.published_norm.tolist() == [1024.0, 1024.0]

    index_md, index_html = report_dir(tmp_path / "out")
    page = (tmp_path / "out" / "lw" / "index.md").read_text()
    assert "## Layer by layer" in page and "### DRAM per layer" in page
    assert (tmp_path / "out" / "lw" / "img" / "lw-dram.png").stat().st_size > 1000
    assert "Gamma-S archsim / published" in page
    from tests.report.test_report import check_html, md_anchors_resolve
    images = check_html(tmp_path / "out" / "lw" / "index.html")
    assert "img/lw-dram.png" in images
    check_html(index_html, images=False)
    md_anchors_resolve(tmp_path / "out" / "lw" / "index.md")
    assert "Layer by layer" in index_md.read_text()      # the index lists the section of the recipe's page


def test_published_values_must_match_the_ops(ran):
    tmp_path, out = ran
    fig = out["recipe"].layer_figures[0]
    fig = fig.model_copy(update={"published": fig.published.model_copy(update={"values": {"gamma": [1.0, 2.0, 3.0]}})})
    ops = {n: pd.read_csv(tmp_path / "out" / "lw" / n / "ops.csv") for n in ("loasft", "gamma")}
    with pytest.raises(ArchsimError, match="3 published values of 'gamma' for 2 ops"):
        layer_values(fig, ops)
    with pytest.raises(ArchsimError, match="metric 'nope' is not an ops.csv column"):
        layer_values(fig.model_copy(update={"metric": "nope", "published": None}), ops)


@pytest.mark.parametrize("figure, message", [
    ({"name": "f", "title": "t", "metric": "m", "runs": {"A": "nope"}}, "unknown run 'nope'"),
    ({"name": "f", "title": "t", "metric": "m", "runs": {"A": "a"}, "normalize": "zz"}, "unknown run 'zz'"),
    ({"name": "f", "title": "t", "metric": "m", "runs": {"A": "a"}, "ops": ["x"],
      "published": {"source": "s", "values": {"a": [1, 2]}}}, "give 2 values for 1 ops"),
])
def test_bad_layer_figures_are_refused(figure, message):
    with pytest.raises(Exception, match=message):
        Recipe.model_validate({"name": "r", "runs": [{"name": "a", "trace": "t", "hw": "h"}],
                               "layer_figures": [figure]})


def test_op_check_on_a_missing_op_is_one_line(tmp_path):
    from archsim.errors import ConfigError
    from archsim.report.recipe import evaluate_checks
    recipe = Recipe.model_validate({"name": "r", "runs": [{"name": "a", "trace": "t", "hw": "h"}], "checks": [
        {"name": "c", "kind": "derived", "metric": "cycles", "op": "nope", "run": "a", "published": 1,
         "tolerance": 1, "source": "s"}]})
    with pytest.raises(ConfigError, match="op 'nope' is not in the per-op table"):
        evaluate_checks(recipe, {"a": {}}, {"a": pd.DataFrame({"op_id": ["x"], "cycles": [1.0]})})
    with pytest.raises(ConfigError, match="no per-op table"):
        evaluate_checks(recipe, {"a": {}})


def test_loas_layers_published_values_are_the_authors_counters():
    """reports/loas_layers.yaml's per-layer values are the ones archsim keeps for loas.md 7.3."""
    from archsim.generators.stats.loas_paper import DESIGNS, NETWORKS
    recipe, _ = load_recipe(REPO / "reports" / "loas_layers.yaml")
    design = {"sparten": "sparten", "gospa": "gospa", "gamma": "gamma", "loasft": "loas_ft"}
    assert len(recipe.layer_figures) == 3
    for fig in recipe.layer_figures:
        assert fig.published.scale == 1024      # the authors' KB are KiB (605184 B = 591 KB on A-L4)
        for run, values in fig.published.values.items():
            net, d = run.split("-")
            assert values == [layer.dram_kb[DESIGNS.index(design[d])] for layer in NETWORKS[net]], run
    raw = yaml.safe_load((REPO / "reports" / "loas_layers.yaml").read_text())
    assert all(c["kind"] == "published" and c.get("op") for c in raw["checks"])


def test_a_partial_stack_keeps_the_rest_of_the_metric(ran, tmp_path):
    """A stack that covers only part of the metric (values without metadata) gets a "rest" kind, so
    the bars still add up to the metric."""
    from archsim.report.layers import REST, layer_bars
    out_dir, out = ran
    fig = out["recipe"].layer_figures[0].model_copy(update={"stack": {"values": "dram_values_bytes.*"}})
    ops = {n: pd.read_csv(out_dir / "out" / "lw" / n / "ops.csv") for n in ("loasft", "gamma")}
    v = layer_values(fig, ops)
    for run in ("loasft", "gamma"):
        assert list(v.parts[run]) == ["values", REST]
        np.testing.assert_allclose(v.parts[run][REST], ops[run].set_index("op_id").loc[v.ops].filter(
            like="dram_metadata_bytes.").sum(axis=1).to_numpy(), rtol=1e-12)
    layer_bars(v, tmp_path / "bars.png", "t", "B")
    assert (tmp_path / "bars.png").stat().st_size > 1000
