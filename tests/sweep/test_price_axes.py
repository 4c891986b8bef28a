"""Sweeps over axes that touch only prices (energy-table variables, table files) simulate each
counted design once and re-price the rest; the table equals simulating every point (compared
against: the engine run on each point, an invariant of count-once-price-many)."""
from __future__ import annotations

import math

from archsim.cli.common import load_any_trace
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.sweep.plan import make_plan
from archsim.sweep.runner import run_sweep
from archsim.sweep.store import load_table
from tests.sweep.support import write_spec

HW = "hw_configs/spikesim_rram_65nm.yaml"
TRACE = "examples/tiny_transformer.yaml"
MAC = "hw_configs/mac_array_example.yaml"
TINY_SNN = "examples/tiny_snn.yaml"


def test_price_only_axis_is_repriced_and_matches_simulation(repo, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", repo / HW, repo / TRACE, name="price-axes",
                      sweep="  grid:\n    energy.variables.V_WRITE: [1.0, 2.0, 3.0]\n    clock_mhz: [100, 200]")
    plan = make_plan(spec)
    assert len({p.count_key for p in plan.points}) == 2          # the clock counts, the voltage prices
    assert "4 points differ from another only in prices" in plan.describe()
    outcome = run_sweep(plan.loaded, tmp_path / "out", plan=plan, jobs=1)
    assert outcome.computed == 6 and outcome.failed == 0
    table = load_table(tmp_path / "out")
    assert table["repriced"].sum() >= 4          # at most one simulation per clock
    trace = load_any_trace(repo / TRACE)
    for rec in table.to_dict("records"):
        hw = load_hardware(repo / HW, {"energy.variables.V_WRITE": rec["energy.variables.V_WRITE"],
                                       "clock_mhz": rec["clock_mhz"]})
        fresh = simulate(trace, hw, details=False).summary
        for key in ("energy_j", "latency_s", "area_mm2", "edap_j_s_mm2", "tops_per_w"):
            assert math.isclose(rec[key], fresh[key], rel_tol=1e-12), (key, rec, fresh[key])
    energies = table.sort_values("energy.variables.V_WRITE")["energy_j"].tolist()
    assert energies[0] < energies[-1]


def test_a_params_axis_is_simulated(repo, tmp_path):
    spec = write_spec(tmp_path / "s.yaml", repo / MAC, repo / TINY_SNN, name="count-axes",
                      sweep="  grid:\n    params.rows: [8, 16]")
    plan = make_plan(spec)
    assert len({p.count_key for p in plan.points}) == 2
    run_sweep(plan.loaded, tmp_path / "out", plan=plan, jobs=1)
    assert not load_table(tmp_path / "out")["repriced"].any()


def test_a_table_file_axis_is_repriced(repo, tmp_path, monkeypatch):
    import yaml

    monkeypatch.setenv("ARCHSIM_PATH", str(tmp_path))   # the swept table lies outside hw_configs (issue 18's rule)

    data = yaml.safe_load((repo / "hw_configs/energy/example_45nm.yaml").read_text())
    for comp in data["components"].values():
        for price in (comp.get("actions") or {}).values():
            price["energy_pj"] *= 3
    (tmp_path / "x3.yaml").write_text(yaml.safe_dump(data))
    tables = [str(repo / "hw_configs/energy/example_45nm.yaml"), str(tmp_path / "x3.yaml")]
    spec = write_spec(tmp_path / "s.yaml", repo / MAC, repo / TINY_SNN, name="table-axis",
                      sweep=f"  grid:\n    energy.tables.0: {tables}")
    plan = make_plan(spec)
    assert len({p.count_key for p in plan.points}) == 1
    run_sweep(plan.loaded, tmp_path / "out", plan=plan, jobs=1)
    table = load_table(tmp_path / "out").set_index("energy.tables.0")
    assert table.loc[tables[1], "repriced"]     # (the first may be too: this process counted the design before)
    assert math.isclose(table.loc[tables[1], "dynamic_energy_j"], 3 * table.loc[tables[0], "dynamic_energy_j"],
                        rel_tol=1e-12)
    assert table.loc[tables[1], "cycles"] == table.loc[tables[0], "cycles"]
