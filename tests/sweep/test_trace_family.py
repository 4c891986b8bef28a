"""Trace families in sweeps: real traces recorded at several T / weight sparsities, picked per
design point by the workload axes (archsim.sweep.plan.select_member)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from archsim.errors import ArchsimError
from archsim.generators.stats.knobs import recorded_weight_sparsity
from archsim.sweep.plan import make_plan
from archsim.trace.schema import Role
from tests.helpers import builder, random_spikes


def member(path, T: int, zeros: int, density=0.2):
    """A trace storing real spikes at ``T`` and a 2x8 weight with ``zeros`` zeros."""
    rng = np.random.default_rng(T * 100 + zeros)
    b = builder(T=T)
    x = b.operand("input", Role.spike, data=random_spikes(rng, T, (3, 8), density))
    w = rng.integers(1, 4, size=16).astype(np.int8)
    w[:zeros] = 0
    wt = b.operand("weight", Role.static_weight, data=w.reshape(2, 8), bits=8)
    b.add("linear", "fc", operands=[x, wt], tokens=3, in_features=8, out_features=2)
    b.build().save(path)
    return path


def spec(tmp_path, repo, grid: str, members: list[str], extra_traces: str = ""):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: fam\nhardware: {repo / 'hw_configs/loas_paper.yaml'}\n"
                    f"traces:\n{extra_traces}  - family: net\n    members: {json.dumps(members)}\n"
                    f"sweep:\n  grid:\n{grid}")
    return path


@pytest.fixture
def family(tmp_path):
    return [str(member(tmp_path / f"t{T}-z{z}.trace", T, z)) for T, z in ((4, 8), (6, 8), (8, 8), (4, 4), (4, 12))]


def test_recorded_weight_sparsity(tmp_path):
    from archsim.trace.io import load_trace
    assert recorded_weight_sparsity(load_trace(member(tmp_path / "a.trace", 4, 12))) == pytest.approx(0.75)


def test_axes_pick_members(repo, tmp_path, family):
    plan = make_plan(spec(tmp_path, repo, "    workload.timesteps: [4, 6, 8]\n", family))
    assert [r["trace_file"] for r in plan.rows] == family[:3]
    assert all(r["trace"] == "net" for r in plan.rows) and not plan.family_gaps
    assert all(t.workload == {} for t in plan.tasks)     # members run as recorded, nothing moved
    assert len({t.row_id for t in plan.tasks}) == 3
    plan = make_plan(spec(tmp_path, repo, "    workload.weight_sparsity: [0.25, 0.5, 0.75]\n", family))
    assert [r["trace_file"] for r in plan.rows] == [family[3], family[0], family[4]]
    from archsim.sweep.worker import run_task
    rows = [run_task(t) for t in plan.tasks]
    assert all(r["status"] == "ok" for r in rows)
    assert rows[0]["timesteps"] == 4 and rows[0]["cycles"] != rows[2]["cycles"]


def test_gaps_are_reported_not_run(repo, tmp_path, family):
    plan = make_plan(spec(tmp_path, repo, "    workload.timesteps: [4, 6]\n    workload.weight_sparsity: [0.5, 0.75]\n",
                          family))
    # (4, 0.5), (6, 0.5), (4, 0.75) exist; (6, 0.75) does not
    assert len(plan.rows) == 3
    assert plan.family_gaps == {"net": [{"timesteps": 6, "weight_sparsity": 0.75}]}
    assert "trace family 'net' has no member recorded at {timesteps=6, weight_sparsity=0.75}" in plan.describe()


def test_statistics_trace_and_family_in_one_sweep(repo, tmp_path, family):
    stats = f"  - {repo / 'examples/loas_paper/alexnet.trace'}\n"
    plan = make_plan(spec(tmp_path, repo, "    workload.timesteps: [4, 8]\n", family, stats))
    by_trace = {}
    for r in plan.rows:
        by_trace.setdefault(r["trace"], []).append(r)
    assert len(by_trace["net"]) == 2 and len(by_trace) == 2
    moved = [t for t in plan.tasks if t.workload]          # the statistics trace is moved to T = 8
    assert [t.workload for t in moved] == [{"timesteps": 4}, {"timesteps": 8}]


def test_family_errors(repo, tmp_path, family):
    with pytest.raises(ArchsimError, match=r"s.yaml:\d+: traces: family 'net' has no member at any design point"):
        make_plan(spec(tmp_path, repo, "    workload.timesteps: [16]\n", family))
    twin = str(member(tmp_path / "twin.trace", 4, 8, density=0.5))
    with pytest.raises(ArchsimError, match=r"family 'net': .*twin.trace and .*t4-z8.trace are both recorded at"):
        make_plan(spec(tmp_path, repo, "    workload.timesteps: [4]\n", [*family, twin]))
    with pytest.raises(ArchsimError, match=r"traces: file not found: .*missing.trace"):
        make_plan(spec(tmp_path, repo, "    workload.timesteps: [4]\n", [*family, str(tmp_path / "missing.trace")]))
    with pytest.raises(ArchsimError, match="members"):
        make_plan(spec(tmp_path, repo, "    workload.timesteps: [4]\n", family[:1]))


def test_a_bad_family_entry_is_one_error_line(repo, tmp_path, family):
    from archsim.errors import ConfigError
    path = spec(tmp_path, repo, "    workload.timesteps: [4]\n", family)
    path.write_text(path.read_text().replace("members: [", "membres: [", 1))
    with pytest.raises(ConfigError) as err:
        make_plan(path)
    lines = [line for line in str(err.value).splitlines() if "traces" in line]
    assert len(lines) == 2, lines       # the misspelt key, and the required one it leaves missing
    assert "traces[0].membres: unknown key (did you mean 'members'?); allowed keys: family, members" in lines[0] \
        or "traces[0].membres: unknown key (did you mean 'members'?); allowed keys: family, members" in lines[1]
    path.write_text(path.read_text().replace("membres: [", "members: 5\n    x: [", 1).replace("\n    x: [", "\n#", 1))
    with pytest.raises(ConfigError, match=r"traces\[0\]\.members: input should be a valid list, got 5$"):
        make_plan(path)
