"""Running sweeps: a 200-point sweep on the local pool checked against the mac_array formulas
row by row, the same sweep on a Dask LocalCluster giving the identical table, resuming,
extending a spec, failing points, and the store's guarantees."""
import json
import math

import pandas as pd
import pytest

from archsim.arch.vector_ops import DEFAULT_OPS_PER_ELEMENT
from archsim.cli.common import load_any_trace
from archsim.errors import ArchsimError
from archsim.sweep.runner import run_sweep
from archsim.sweep.store import LOG_FILE, ResultStore, load_table
from archsim.trace.schema import GEMM_KINDS
from tests.sweep.support import register, write_slow_hardware, write_spec

VOLATILE = ["run_id", "elapsed_s", "worker", "repriced"]   # differ between runs by design


def spec_200(repo, tmp_path):
    # 10 x 10 x 2 = 200 design points of the example MAC array on the tiny SNN
    return write_spec(tmp_path / "sweep200.yaml", repo / "hw_configs/mac_array_example.yaml",
                      repo / "examples/tiny_snn.yaml", """\
  grid:
    params.rows: {range: [2, 20], step: 2}
    params.cols: {range: [2, 20], step: 2}
    params.vector_lanes: [8, 16]
""", name="two-hundred")


def compute_cycles(trace, rows, cols, lanes):
    """mac_array's compute cycles, from its documented equations (docs/models/mac_array.md):
    GEMM: ceil(M/rows) * ceil(N/cols) * groups * K * T; vector ops: ceil(elements * T * ops per
    element / lanes), ops per element x window size for pooling."""
    total = 0
    for op in trace.ops:
        T = op.timesteps
        if op.kind in GEMM_KINDS:
            g = op.gemm
            total += math.ceil(g.M / rows) * math.ceil(g.N / cols) * g.groups * g.K * T
        else:
            per = DEFAULT_OPS_PER_ELEMENT[op.kind] * (op.kernel_h * op.kernel_w if op.kind == "pool" else 1)
            total += math.ceil(op.elements * T * per / lanes)
    return total


@pytest.fixture(scope="module")
def local_200(tmp_path_factory):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    tmp = tmp_path_factory.mktemp("sweep200")
    spec = spec_200(repo, tmp)
    outcome = run_sweep(spec, tmp / "local", jobs=2)
    return repo, tmp, spec, outcome


def test_200_point_sweep_on_the_local_pool(local_200):
    repo, tmp, spec, outcome = local_200
    assert (outcome.total, outcome.computed, outcome.already_done, outcome.failed) == (200, 200, 0, 0)
    table = load_table(tmp / "local")
    assert len(table) == 200 and (table["status"] == "ok").all()
    assert table["row_id"].is_unique and list(table["point"]) == list(range(200))
    assert outcome.table.suffix == ".parquet"
    # every row holds the numbers of its own design point
    trace = load_any_trace(repo / "examples/tiny_snn.yaml")
    for r in table.to_dict("records"):
        rows, cols, lanes = r["params.rows"], r["params.cols"], r["params.vector_lanes"]
        assert r["metrics.compute_cycles"] == compute_cycles(trace, rows, cols, lanes)
        assert r["instances.mac"] == rows * cols and r["instances.vector"] == lanes
        assert r["latency_s"] == pytest.approx(r["cycles"] / 500e6, rel=1e-12)
    assert set(table["worker"].str.split(":").str[1]) != {None}
    # units in the column names, swept values under their key paths
    for col in ("latency_s", "energy_j", "area_mm2", "edap_j_s_mm2", "tops_per_w", "energy_j_by_component.dram"):
        assert col in table.columns


def test_same_sweep_on_a_dask_local_cluster_is_identical(local_200):
    pytest.importorskip("distributed")
    repo, tmp, spec, _ = local_200
    outcome = run_sweep(spec, tmp / "dask", executor="dask", jobs=2)
    assert outcome.computed == 200 and outcome.failed == 0
    a = load_table(tmp / "local").drop(columns=VOLATILE)
    b = load_table(tmp / "dask").drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(a, b)
    runs = json.loads((tmp / "dask" / "sweep.json").read_text())["runs"]
    assert runs[-1]["executor"] == "dask" and runs[-1]["status"] == "complete"


def test_rerun_computes_nothing_and_duplicates_nothing(local_200):
    _, tmp, spec, _ = local_200
    before = load_table(tmp / "local")
    lines = (tmp / "local" / LOG_FILE).read_text().count("\n")
    outcome = run_sweep(spec, tmp / "local", jobs=2)
    assert (outcome.computed, outcome.already_done) == (0, 200)
    assert (tmp / "local" / LOG_FILE).read_text().count("\n") == lines == 200
    pd.testing.assert_frame_equal(before, load_table(tmp / "local"))


def test_extending_a_spec_runs_only_the_new_points(repo, tmp_path):
    hw, tr = repo / "hw_configs/mac_array_example.yaml", [repo / "examples/tiny_snn.yaml",
                                                         repo / "examples/tiny_transformer.yaml"]
    spec = write_spec(tmp_path / "s.yaml", hw, tr, "  grid: {params.rows: [4, 8]}")
    first = run_sweep(spec, tmp_path / "out", jobs=1)
    assert first.computed == 4
    write_spec(spec, hw, tr, "  grid: {params.rows: [4, 8, 16]}")
    second = run_sweep(spec, tmp_path / "out", jobs=1)
    assert (second.computed, second.already_done) == (2, 4)
    table = load_table(tmp_path / "out")
    assert list(zip(table["params.rows"], table["trace"])) == [
        (4, "tiny-snn"), (4, "tiny-encoder"), (8, "tiny-snn"), (8, "tiny-encoder"), (16, "tiny-snn"), (16, "tiny-encoder")]
    assert table["run_id"].nunique() == 2
    # a narrower spec shows only its own rows; the log keeps everything
    write_spec(spec, hw, tr, "  grid: {params.rows: [8]}")
    assert run_sweep(spec, tmp_path / "out", jobs=1).computed == 0
    assert len(load_table(tmp_path / "out")) == 2
    assert (tmp_path / "out" / LOG_FILE).read_text().count("\n") == 6


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_point_is_recorded_and_the_sweep_goes_on(monkeypatch, repo, tmp_path, jobs):
    register(monkeypatch)
    hw = write_slow_hardware(tmp_path / "hw.yaml", fail_rows=8)
    spec = write_spec(tmp_path / "s.yaml", hw, repo / "examples/tiny_snn.yaml", "  grid: {params.rows: [4, 8, 12, 16]}")
    outcome = run_sweep(spec, tmp_path / "out", jobs=jobs, batch_size=2)
    assert (outcome.computed, outcome.failed) == (4, 1)
    table = load_table(tmp_path / "out")
    assert list(table["status"]) == ["ok", "error", "ok", "ok"]
    assert table["error"][1] == "RuntimeError: test failure at rows=8"
    assert pd.isna(table["energy_j"][1]) and (table["energy_j"].drop(index=1) > 0).all()
    # a failure is finished work; --retry-failed runs it again (and only it)
    assert run_sweep(spec, tmp_path / "out", jobs=jobs).computed == 0
    again = run_sweep(spec, tmp_path / "out", jobs=jobs, retry_failed=True)
    assert (again.computed, again.failed) == (1, 1)
    assert len(load_table(tmp_path / "out")) == 4


def test_sweeping_a_top_level_key_that_is_also_a_summary_column(repo, tmp_path):
    """clock_mhz is swept and reported: one column, and the latency scales as 1/clock."""
    spec = write_spec(tmp_path / "s.yaml", repo / "hw_configs/mac_array_example.yaml",
                      repo / "examples/tiny_snn.yaml", "  grid: {clock_mhz: [250, 500, 1000]}")
    run_sweep(spec, tmp_path / "out", jobs=1)
    table = load_table(tmp_path / "out")
    assert list(table.columns).count("clock_mhz") == 1 and list(table["clock_mhz"]) == [250, 500, 1000]
    assert table["latency_s"].tolist() == pytest.approx([t / (c * 1e6) for t, c in zip(table["cycles"], [250, 500, 1000])])


def test_csv_table_and_python_api(repo, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", repo / "hw_configs/mac_array_example.yaml",
                      repo / "examples/tiny_snn.yaml", "  grid: {params.rows: [4, 8]}")
    a = run_sweep(spec, tmp_path / "csv", jobs=1, table_format="csv")
    b = run_sweep(spec, tmp_path / "pq", jobs=1)
    assert a.table.name == "results.csv" and b.table.name == "results.parquet"
    pd.testing.assert_frame_equal(load_table(tmp_path / "csv").drop(columns=VOLATILE),
                                  load_table(tmp_path / "pq").drop(columns=VOLATILE), check_dtype=False)


# ----------------------------------------------------------------------------- the store

def _small_store(repo, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", repo / "hw_configs/mac_array_example.yaml",
                      repo / "examples/tiny_snn.yaml", "  grid: {params.rows: [4, 8, 16]}")
    run_sweep(spec, tmp_path / "out", jobs=1)
    return spec, tmp_path / "out"


def test_a_record_cut_short_by_a_kill_is_dropped_and_redone(repo, tmp_path):
    spec, out = _small_store(repo, tmp_path)
    log = out / LOG_FILE
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:2]) + lines[2][: len(lines[2]) // 2])    # the last write was cut
    outcome = run_sweep(spec, out, jobs=1)
    assert (outcome.computed, outcome.already_done) == (1, 2)
    text = log.read_text()
    assert text.count("\n") == 3 and all(json.loads(line) for line in text.splitlines())
    assert len(load_table(out)) == 3


def test_store_refuses_corruption_concurrency_and_foreign_dirs(repo, tmp_path):
    spec, out = _small_store(repo, tmp_path)
    store = ResultStore(out).open("test-sweep")
    with pytest.raises(ArchsimError, match="another sweep is writing"):
        ResultStore(out).open("test-sweep")
    store.close()
    with pytest.raises(ArchsimError, match="holds the results of sweep 'test-sweep', not 'other'"):
        ResultStore(out).open("other")
    lines = (out / LOG_FILE).read_text().splitlines(keepends=True)
    (out / LOG_FILE).write_text(lines[0] + "{garbage\n" + lines[1])
    with pytest.raises(ArchsimError, match=r"rows.jsonl:2: corrupt record in the middle"):
        run_sweep(spec, out, jobs=1)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ArchsimError, match="not a sweep directory"):
        run_sweep(spec, other, jobs=1)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
