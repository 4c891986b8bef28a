"""Pareto fronts: the fast front against the row-by-row definition on seeded random data (ties
included), a hand-worked case, maximised metrics, grouping, and the CLI."""
import numpy as np
import pandas as pd
import pytest

from archsim.cli import main
from archsim.errors import ArchsimError
from archsim.sweep.pareto import pareto_front, pareto_mask, pareto_mask_reference


@pytest.mark.parametrize("dims", [2, 3])
def test_front_matches_the_definition(rng, dims):
    for n in (0, 1, 2, 17, 300):
        continuous = rng.random((n, dims))
        ties = rng.integers(0, 4, size=(n, dims)).astype(float)   # many equal values and duplicate rows
        for v in (continuous, ties):
            assert np.array_equal(pareto_mask(v), pareto_mask_reference(v))


def test_hand_worked_front():
    # (1,5) best in x; (3,1) best in y; (2,2) twice: equal rows do not dominate each other;
    # (3,3) is beaten by (2,2); (4,1) by (3,1)
    v = np.array([[3, 3], [1, 5], [2, 2], [3, 1], [2, 2], [4, 1]], dtype=float)
    assert pareto_mask(v).tolist() == [False, True, True, True, True, False]


def test_pareto_front_of_a_table_per_trace_and_maximised():
    t = pd.DataFrame({
        "trace": ["a", "a", "a", "b", "b", "a"],
        "status": ["ok", "ok", "ok", "ok", "ok", "error"],
        "energy_j": [1.0, 2.0, 3.0, 5.0, 6.0, 0.1],
        "latency_s": [3.0, 2.0, 4.0, 1.0, 1.0, 0.1],
        "tops_per_w": [1.0, 1.0, 9.0, 2.0, 3.0, 99.0],
    })
    front = pareto_front(t, ["energy_j", "latency_s"])
    # failed row 5 is ignored; in trace a row 2 is beaten by rows 0 and 1; in b row 3 beats 4
    assert sorted(front.index) == [0, 1, 3]
    assert sorted(pareto_front(t, ["energy_j", "latency_s"], by=None).index) == [0, 1, 3]
    # maximising TOPS/W keeps row 2 (the best at it) and row 4 (better TOPS/W than row 3)
    assert sorted(pareto_front(t, ["energy_j", "tops_per_w:max"]).index) == [0, 2, 3, 4]


@pytest.mark.parametrize("metrics,needle", [
    (["energy_j"], "two or three metrics"),
    (["energy_j", "latency_s", "area_mm2", "tops"], "two or three metrics"),
    (["energy", "latency_s"], "did you mean 'energy_j'"),
    (["energy_j", "latency_s:fast"], "NAME:max"),
    (["energy_j", "energy_j:max"], "each metric once"),
])
def test_bad_metrics(metrics, needle):
    t = pd.DataFrame({"trace": ["a"], "energy_j": [1.0], "latency_s": [1.0], "area_mm2": [1.0], "tops": [1.0]})
    with pytest.raises(ArchsimError, match=needle):
        pareto_front(t, metrics)


def test_pareto_cli(capsys, repo, tmp_path):
    from archsim.sweep.runner import run_sweep
    from tests.sweep.support import write_spec

    spec = write_spec(tmp_path / "s.yaml", repo / "hw_configs/mac_array_example.yaml",
                      repo / "examples/tiny_snn.yaml", "  grid: {params.rows: [2, 8, 32], params.cols: [2, 8, 32]}")
    run_sweep(spec, tmp_path / "sw", jobs=1)
    out = tmp_path / "front.csv"
    assert main(["pareto", str(tmp_path / "sw"), "area_mm2", "edap_j_s_mm2", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    front = pd.read_csv(out)
    table = pd.read_parquet(tmp_path / "sw" / "results.parquet")
    expected = table[pareto_mask_reference(table[["area_mm2", "edap_j_s_mm2"]].to_numpy())]
    assert sorted(front["point"]) == sorted(expected["point"])
    assert f"{len(front)} of 9 runs on the Pareto front of area_mm2, edap_j_s_mm2" in printed
    assert "params.rows" in printed
    assert main(["pareto", str(tmp_path / "sw"), "area", "edap_j_s_mm2"]) == 2
    assert "did you mean 'area_mm2'" in capsys.readouterr().err
