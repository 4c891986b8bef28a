"""Accuracy as a sweep metric: rows carry accuracy_mean/std, evaluations are cached by the
settings that affect them (a price-only axis does not re-evaluate), a rerun resumes, and the
real crossbar evaluator runs on a Dask cluster. Invariants and our own derivation (the fake
evaluator's formula); the real evaluator's check is against the digital model."""
import pandas as pd
import pytest

from archsim.errors import ConfigError
from archsim.sweep import run_sweep
from archsim.sweep.accuracy import AccuracyBlock, load_evaluator
from archsim.sweep.store import load_table
from tests.imc.test_cost import HW, TABLE
from tests.sweep.fake_accuracy import calls, register
from tests.sweep.support import REPO, write_spec

TRACE = REPO / "examples/tiny_transformer.yaml"


@pytest.fixture
def design(tmp_path):
    (tmp_path / "table.yaml").write_text(TABLE)
    (tmp_path / "hw.yaml").write_text(HW)
    return tmp_path / "hw.yaml"


def spec_with(tmp_path, design, sweep, block="{model: m, dataset: d, images: 10, seeds: 2, evaluator: fake}"):
    return write_spec(tmp_path / "spec.yaml", design, TRACE, sweep, extra=f"accuracy: {block}\n")


def test_rows_carry_accuracy_and_price_axes_reuse_evaluations(tmp_path, design, monkeypatch):
    register(monkeypatch, tmp_path / "calls.jsonl")
    spec = spec_with(tmp_path, design, "  grid: {variables.ADC: [3, 5], params.tile.buffer_bits: [100, 200, 400]}")
    out = run_sweep(spec, tmp_path / "out", jobs=1)
    assert out.computed == 6 and out.failed == 0
    table = load_table(tmp_path / "out")
    # two ADC resolutions x two seeds: the buffer axis (area only) re-used the cached evaluations
    assert len(calls(tmp_path / "calls.jsonl")) == 4
    for _, row in table.iterrows():
        a = [0.5 + 0.05 * row["variables.ADC"] + 0.01 * s - 0.004 for s in (0, 1)]
        assert row["accuracy_mean"] == pytest.approx(sum(a) / 2)
        assert row["accuracy_std"] == pytest.approx(pd.Series(a).std())
    cols = list(table.columns)
    assert cols.index("accuracy_mean") < cols.index("latency_s")      # beside the cost figures, first
    assert set(table["accuracy_cached_seeds"]) == {0, 2}
    # resume: a rerun computes nothing; a new spec over the same folder's cache evaluates nothing new
    again = run_sweep(spec, tmp_path / "out", jobs=1)
    assert again.computed == 0 and len(calls(tmp_path / "calls.jsonl")) == 4


def test_accuracy_changes_the_row_id(tmp_path, design, monkeypatch):
    register(monkeypatch, tmp_path / "calls.jsonl")
    plain = write_spec(tmp_path / "plain.yaml", design, TRACE, "  grid: {variables.ADC: [3]}")
    run_sweep(plain, tmp_path / "out", jobs=1)
    spec = spec_with(tmp_path, design, "  grid: {variables.ADC: [3]}")
    out = run_sweep(spec, tmp_path / "out", jobs=1)
    assert out.computed == 1 and "accuracy_mean" in load_table(tmp_path / "out").columns


def test_bad_accuracy_blocks(tmp_path, design, monkeypatch):
    with pytest.raises(ConfigError, match="unknown evaluator 'nope'"):
        load_evaluator("nope")
    with pytest.raises(ValueError):
        AccuracyBlock(model="m", images=0)
    spec = spec_with(tmp_path, design, "  grid: {variables.ADC: [3]}", "{model: m, seeds: 1, evaluator: nope}")
    out = run_sweep(spec, tmp_path / "out", jobs=1)
    table = load_table(tmp_path / "out")
    assert out.failed == 1 and "unknown evaluator 'nope'" in table["error"].iloc[0]
    mac = write_spec(tmp_path / "mac.yaml", REPO / "hw_configs/mac_array_example.yaml", TRACE,
                     "  grid: {params.rows: [4]}", extra="accuracy: {model: m, seeds: 1}\n")
    out = run_sweep(mac, tmp_path / "mac", jobs=1)
    assert out.failed == 1 and "accuracy needs an 'imc' design" in load_table(tmp_path / "mac")["error"].iloc[0]


@pytest.mark.slow
def test_real_evaluator_on_dask_changes_with_adc_bits(tmp_path):
    """tiny-snn (digits) on the SpikeSim preset, 60 images: 8-bit ADCs keep the digital model's
    accuracy within 5 points; 2-bit ADCs (required: 4 bits x 9 positions x 64 rows -> 13 bits)
    lose most of it."""
    pytest.importorskip("distributed")
    spec = write_spec(tmp_path / "s.yaml", REPO / "hw_configs/spikesim_rram_65nm.yaml", REPO / "examples/spikesim_vgg9.yaml",
                      "  grid: {variables.ADC_BITS: [2, 8]}",
                      extra="accuracy: {model: tiny-snn, dataset: digits, images: 60, seeds: 1}\n")
    out = run_sweep(spec, tmp_path / "out", executor="dask", jobs=2)
    assert out.failed == 0, load_table(tmp_path / "out")["error"].tolist()
    t = load_table(tmp_path / "out").set_index("variables.ADC_BITS")
    assert t.loc[8, "accuracy_mean"] > t.loc[2, "accuracy_mean"] + 0.3
    assert t.loc[8, "energy_j"] > t.loc[2, "energy_j"]


def test_accuracy_front_in_pareto_cli_and_report(tmp_path, design, monkeypatch, capsys):
    """More ADC bits: more accuracy and more energy, so the (accuracy, EDAP, area) front holds
    every ADC resolution (the fake evaluator's accuracy rises with bits, the table's ADC price too)."""
    from archsim.cli import main
    from archsim.report.pages import report_dir

    register(monkeypatch, tmp_path / "calls.jsonl")
    spec = spec_with(tmp_path, design, "  grid: {variables.ADC: [2, 4, 6], params.tile.buffer_bits: [100, 400]}")
    run_sweep(spec, tmp_path / "out", jobs=1)
    assert main(["pareto", str(tmp_path / "out"), "accuracy_mean:max", "edap_j_s_mm2", "area_mm2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("3 of 6 runs on the Pareto front")
    md, _ = report_dir(tmp_path / "out", tmp_path / "report")
    page = md.read_text() if md.suffix == ".md" else (md / "index.md").read_text()
    assert "Pareto front: accuracy vs EDAP and area" in page
    assert (tmp_path / "report" / "img" / "pareto-accuracy-edap.png").exists()


def test_accuracy_energy_front_as_recipe_table(tmp_path, design, monkeypatch, capsys):
    """``archsim pareto DIR accuracy_mean:max energy_j --table F``: the recipe table file of the
    accuracy-vs-energy front (rows sorted by energy, accuracy rising with it: our derivation from
    the fake evaluator and the ADC price), a plot beside it, and the recipe page shows it."""
    import json

    from archsim.cli import main
    from archsim.report.pages import table_ref_blocks
    from archsim.report.recipe import TableRef

    register(monkeypatch, tmp_path / "calls.jsonl")
    spec = spec_with(tmp_path, design, "  grid: {variables.ADC: [2, 4, 6], params.tile.buffer_bits: [100, 400]}")
    run_sweep(spec, tmp_path / "out", jobs=1)
    out = tmp_path / "rep" / "accuracy" / "front.json"
    assert main(["pareto", str(tmp_path / "out"), "accuracy_mean:max", "energy_j", "--table", str(out)]) == 0
    t = json.loads(out.read_text())["tables"][0]
    cols = t["columns"]
    assert {"variables.ADC", "accuracy_mean", "accuracy_std", "energy_j"} <= set(cols)
    assert "params.tile.buffer_bits" in cols                     # swept, so shown
    rows = [dict(zip(cols, r)) for r in t["rows"]]
    energies = [r["energy_j"] for r in rows]
    assert energies == sorted(energies)
    # the buffer size changes area only: both sizes tie in (accuracy, energy) and stay on the front
    assert [r["variables.ADC"] for r in rows] == [2, 2, 4, 4, 6, 6]
    accs = [r["accuracy_mean"] for r in rows]
    assert accs == sorted(accs) and accs[0] < accs[-1]
    assert "6 of 6 design points" in t["notes"] and "2 noise seeds" in t["notes"]
    assert out.with_suffix(".png").exists()
    blocks = table_ref_blocks(TableRef(title="front", path="accuracy/front.json", command="c"), tmp_path / "rep")
    assert any(getattr(b, "rows", None) == t["rows"] for b in blocks)
    missing = table_ref_blocks(TableRef(title="front", path="accuracy/none.json", command="make it"), tmp_path / "rep")
    assert "Not produced yet" in missing[-1].text and "make it" in missing[-1].text


def test_accuracy_front_table_needs_finished_points(tmp_path):
    from archsim.errors import ArchsimError
    from archsim.report.accuracy import front_tables

    with pytest.raises(ArchsimError, match="no sweep result table"):
        front_tables(tmp_path)
