"""Count once, price many: a stored result re-priced under the table it was simulated with gives
the simulation's numbers bit for bit, and under another table the numbers of a fresh simulation
with that table (compared against: the engine itself, an invariant of the split)."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from archsim.cli import main
from archsim.cli.common import load_any_trace
from archsim.config.hardware import load_hardware
from archsim.energy.price import reprice
from archsim.engine import simulate
from archsim.errors import PriceError
from archsim.result import Result
from tests.helpers import write_files

PRICED = ("energy_j", "dynamic_energy_j", "static_energy_j", "area_mm2", "power_w", "edap_j_s_mm2",
          "tops_per_w", "tops_per_mm2")


def assert_same_result(a: Result, b: Result) -> None:
    assert json.dumps(a.summary, sort_keys=True, default=float) == json.dumps(b.summary, sort_keys=True, default=float)
    pd.testing.assert_frame_equal(a.ops, b.ops, check_exact=True)
    pd.testing.assert_frame_equal(a.actions.reset_index(drop=True), b.actions.reset_index(drop=True), check_exact=True)
    pd.testing.assert_frame_equal(a.sources, b.sources, check_exact=True)


CASES = [   # (trace, hardware, a price-only override)
    ("examples/tiny_transformer.yaml", "hw_configs/spikesim_rram_65nm.yaml", {"energy.variables.V_WRITE": 3.0}),
    ("examples/tiny_snn.yaml", "hw_configs/clipformer_rram_32nm.yaml", {"energy.variables.V_READ": 0.2}),
    ("examples/tiny_transformer.yaml", "hw_configs/clipformer_rram_32nm.yaml", {"energy.variables.V_READ": 0.2}),
]


@pytest.mark.parametrize("trace,hw_file,override", CASES)
def test_reprice_same_table_is_the_simulation(repo, tmp_path, trace, hw_file, override):
    result = simulate(load_any_trace(repo / trace), load_hardware(repo / hw_file))
    result.save(tmp_path / "r")
    again = reprice(tmp_path / "r", repo / hw_file)
    assert_same_result(again, Result.load(tmp_path / "r"))
    assert again.summary == result.summary


@pytest.mark.parametrize("trace,hw_file,override", CASES)
def test_reprice_other_table_is_a_fresh_simulation(repo, tmp_path, trace, hw_file, override):
    t = load_any_trace(repo / trace)
    base = simulate(t, load_hardware(repo / hw_file))
    other_hw = load_hardware(repo / hw_file, override)
    fresh = simulate(t, other_hw)
    repriced = reprice(base, other_hw)
    assert fresh.summary["energy_j"] != base.summary["energy_j"], "the override must change the prices"
    assert fresh.summary["cycles"] == base.summary["cycles"]
    assert_same_result(repriced, fresh)


def test_hetero_engines_repriced(repo, tmp_path):
    """A composite design's own priced entries (energy and area per engine) follow the table."""
    from tests.arch.test_hetero import FILES, fork_join
    from tests.config.test_config_errors import TABLE
    import textwrap

    write_files(tmp_path, FILES)
    base = simulate(fork_join(), load_hardware(tmp_path / "het.yaml"))
    (tmp_path / "table.yaml").write_text(textwrap.dedent(TABLE).replace("energy_pj: 1.0", "energy_pj: 4.0"))
    fresh = simulate(fork_join(), load_hardware(tmp_path / "het.yaml"))
    repriced = reprice(base, load_hardware(tmp_path / "het.yaml"))
    assert fresh.summary["engines"]["a"]["energy_j"] > base.summary["engines"]["a"]["energy_j"]
    assert_same_result(repriced, fresh)


def test_reprice_refuses_a_design_that_counts_differently(repo):
    t = load_any_trace(repo / "examples/tiny_snn.yaml")
    result = simulate(t, load_hardware(repo / "hw_configs/mac_array_example.yaml"))
    with pytest.raises(PriceError, match="counts differently"):
        reprice(result, load_hardware(repo / "hw_configs/mac_array_example.yaml", {"params.rows": 32}))
    with pytest.raises(PriceError, match="counts differently"):
        reprice(result, load_hardware(repo / "hw_configs/mac_array_example.yaml", {"clock_mhz": 250}))


def test_reprice_a_table_file_and_missing_prices(repo, tmp_path):
    t = load_any_trace(repo / "examples/tiny_snn.yaml")
    hw = load_hardware(repo / "hw_configs/mac_array_example.yaml")
    result = simulate(t, hw)
    table = (repo / "hw_configs/energy/example_45nm.yaml").read_text()
    doubled = tmp_path / "doubled.yaml"
    import yaml
    data = yaml.safe_load(table)
    for comp in data["components"].values():
        for price in comp.get("actions", {}).values():
            price["energy_pj"] *= 2
    doubled.write_text(yaml.safe_dump(data))
    r2 = reprice(result, doubled)
    assert math.isclose(r2["dynamic_energy_j"], 2 * result["dynamic_energy_j"], rel_tol=1e-12)
    assert r2["cycles"] == result["cycles"] and r2["area_mm2"] == result["area_mm2"]
    del data["components"]["dram"]
    doubled.write_text(yaml.safe_dump(data))
    with pytest.raises(PriceError, match="no component 'dram'"):
        reprice(result, doubled)


def test_cli_price(repo, tmp_path, capsys):
    hw = repo / "hw_configs/spikesim_rram_65nm.yaml"
    assert main(["simulate", "--hw", str(hw), "--trace", str(repo / "examples/tiny_snn.yaml"),
                 "-o", str(tmp_path / "sim"), "--quiet"]) == 0
    assert (tmp_path / "sim" / "counts.json").exists()
    assert main(["price", str(tmp_path / "sim"), "--hw", str(hw), "-o", str(tmp_path / "priced"), "--quiet"]) == 0
    for name in ("summary.json", "counts.json", "ops.csv", "actions.csv", "sources.csv"):
        assert (tmp_path / "sim" / name).read_bytes() == (tmp_path / "priced" / name).read_bytes(), name
    assert main(["price", str(tmp_path), "--hw", str(hw), "-o", str(tmp_path / "x")]) == 2
    assert "not a result directory" in capsys.readouterr().err
