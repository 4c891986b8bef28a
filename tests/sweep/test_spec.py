"""Sweep specs: axis values, random sampling, expansion order, constraints, and bad specs that
must fail before any point runs (exit 2, one line per problem, no output directory)."""
import pytest

from archsim.cli import main
from archsim.errors import ConfigError
from archsim.sweep.plan import make_plan
from archsim.sweep.spec import RandomBlock, axis_values, random_values
from tests.sweep.support import write_spec


def test_axis_values_ranges_and_log_steps():
    assert axis_values([3, "a", 1.5], "w", "k") == [3, "a", 1.5]
    assert axis_values({"range": [8, 64], "step": 8}, "w", "k") == [8, 16, 24, 32, 40, 48, 56, 64]
    assert axis_values({"range": [8, 60], "step": 8}, "w", "k") == [8, 16, 24, 32, 40, 48, 56]   # 64 > stop
    # float steps land exactly on the decimal values (no 0.30000000000000004), stop included
    assert axis_values({"range": [0.1, 0.5], "step": 0.1}, "w", "k") == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert axis_values({"range": [0, 1], "num": 5}, "w", "k") == [0, 0.25, 0.5, 0.75, 1]
    assert axis_values({"log": [4, 64], "factor": 2}, "w", "k") == [4, 8, 16, 32, 64]
    assert all(isinstance(v, int) for v in axis_values({"log": [4, 64], "factor": 2}, "w", "k"))
    assert axis_values({"log": [1, 1000], "num": 4}, "w", "k") == [1, 10, 100, 1000]
    vals = axis_values({"log": [10, 1000], "num": 4}, "w", "k")
    assert vals[0] == 10 and vals[-1] == 1000 and vals[1] == pytest.approx(10 * 100 ** (1 / 3))


@pytest.mark.parametrize("raw,needle", [
    ([], "empty axis"),
    ({"range": [8, 4], "step": 1}, "empty axis"),
    ({"range": [1, 4]}, "exactly one of 'step' or 'num'"),
    ({"range": [1, 4], "step": 1, "num": 3}, "exactly one of 'step' or 'num'"),
    ({"range": [1, 4], "step": 0}, "expected a number > 0"),
    ({"log": [0, 4], "factor": 2}, "start must be > 0"),
    ({"log": [1, 4], "factor": 1}, "expected a number > 1"),
    ({"log": [1, 4], "num": 0}, "integer >= 1"),
    ({"range": [1, "x"], "step": 1}, "expected [start, stop] numbers"),
    ({"rang": [1, 2]}, "expected a list of values"),
    (5, "expected a list of values"),
])
def test_bad_axis_values(raw, needle):
    with pytest.raises(ConfigError, match="spec.yaml:3: sweep.grid.k: ") as err:
        axis_values(raw, "spec.yaml:3", "sweep.grid.k")
    assert needle in str(err.value)


def test_random_sampling_is_seeded_and_in_bounds():
    block = RandomBlock(samples=50, seed=7, axes={"a": {"uniform": [1.0, 2.0]}, "b": {"randint": [3, 5]},
                                                  "c": {"loguniform": [1e-3, 1.0]}, "d": {"choice": ["x", "y"]}})
    pts = random_values(block, lambda k: "w")
    assert pts == random_values(block, lambda k: "w")
    assert pts != random_values(block.model_copy(update={"seed": 8}), lambda k: "w")
    assert all(1.0 <= p["a"] <= 2.0 and 1e-3 <= p["c"] <= 1.0 and p["d"] in ("x", "y") for p in pts)
    assert {p["b"] for p in pts} == {3, 4, 5}            # both ends of randint included


def test_expansion_order_blocks_and_constraints(repo, tmp_path):
    hw = repo / "hw_configs/mac_array_example.yaml"
    spec = write_spec(tmp_path / "s.yaml", hw, repo / "examples/tiny_snn.yaml", """\
  grid: {params.rows: [8, 16], params.cols: [4, 8, 16]}
  zip: {params.sram_kib: [128, 512], params.dram_bandwidth_gbps: [12.8, 51.2]}
  points: [{clock_mhz: 400}, {clock_mhz: 800}]
""", extra="constraints: ['rows * cols <= 64', 'clock_mhz < 600 or params.sram_kib > 256']\n")
    plan = make_plan(spec)
    assert plan.keys == ["params.rows", "params.cols", "params.sram_kib", "params.dram_bandwidth_gbps", "clock_mhz"]
    # 2 x 3 grid x 2 zip x 2 points = 24; rows*cols <= 64 keeps (8,4), (8,8), (16,4) -> 12;
    # the second constraint drops clock 800 with sram 128 -> 9
    assert plan.expanded == 24 and len(plan.points) == 9 and plan.skipped == 15
    combos = [(p.values["params.rows"], p.values["params.cols"], p.values["params.sram_kib"], p.values["clock_mhz"])
              for p in plan.points]
    assert combos[:3] == [(8, 4, 128, 400), (8, 4, 512, 400), (8, 4, 512, 800)]   # grid outermost
    assert all(r * c <= 64 for r, c, _, _ in combos)
    assert not any(clk == 800 and sram == 128 for _, _, sram, clk in combos)
    assert [p.index for p in plan.points] == list(range(9))
    assert plan.points[0].hardware == "mac-array-16x16-45nm"   # the name of the base file, resolved


def test_row_ids_follow_the_resolved_hardware(repo, tmp_path):
    """Two spellings of one design (a variable vs the params it sets) are one row id; another
    value is another id; the same spec gives the same ids."""
    hw, tr = repo / "hw_configs/mac_array_example.yaml", repo / "examples/tiny_snn.yaml"
    a = make_plan(write_spec(tmp_path / "a.yaml", hw, tr, "  grid: {variables.ARRAY: [16, 32]}"))
    b = make_plan(write_spec(tmp_path / "b.yaml", hw, tr, "  zip: {params.rows: [32], params.cols: [32]}"))
    assert a.tasks[1].row_id != a.tasks[0].row_id
    # ARRAY=32 sets rows=cols=32 but also the name (mac-array-32x32-45nm): a different resolved file
    assert b.tasks[0].row_id not in {t.row_id for t in a.tasks}
    c = make_plan(write_spec(tmp_path / "c.yaml", hw, tr, "  points: [{variables.ARRAY: 32}]"))
    assert c.tasks[0].row_id == a.tasks[1].row_id
    assert make_plan(tmp_path / "a.yaml").tasks == a.tasks


BAD_SPECS = [
    ("  grid: {params.rowz: [8, 16]}", "sweep.grid.params.rowz: no key 'params.rowz'", "did you mean 'params.rows'"),
    ("  grid: {variables.ARRY: [8]}", "sweep.grid.variables.ARRY: no key", "did you mean 'variables.ARRAY'"),
    ("  grid: {params.rows: []}", "sweep.grid.params.rows: empty axis", ""),
    ("  zip: {params.rows: [8, 16], params.cols: [1]}", "same number of values", "params.rows: 2, params.cols: 1"),
    ("  grid: {params.rows: [8, 16]}\nconstraints: ['rows > 100']", "constraints: they reject every one of the 2",
     ""),
    ("  grid: {params.rows: [8, 16]}\nconstraints: ['rowz > 100']", "constraints[0]: 'rowz'", "not a key"),
    ("  grid: {params.rows: [8, 16]}\nconstraints: ['rows >']", "constraints[0]: cannot parse", ""),
    ("  grid: {params.rows: [8, wide]}", "design point {params.rows='wide'}", "params.rows: input should be a valid integer"),
    ("  grid: {params.rows: {log: [10, 1000], num: 4}}", "design point {params.rows=46.4158883361}",
     "got a number with a fractional part"),
    ("  grid: {params.gate_zero_inputs: [yes, maybe]}", "params.gate_zero_inputs: input should be a valid boolean", ""),
    ("  grid: {params.rows: [8]}\n  points: [{params.rows: 4}]", "varied in both 'grid' and 'points'", ""),
    ("  random: {samples: 2, axes: {clock_mhz: {normal: [1, 2]}}}", "unknown distribution 'normal'", ""),
    ("  grid: {params.rows.x: [1]}", "'params.rows' in", "is a value"),
    ("  grid: {params.rows: [8]}\nextra_key: 1", "extra_key: unknown key", ""),
]


@pytest.mark.parametrize("sweep,needle,needle2", BAD_SPECS, ids=[b[1][:30] for b in BAD_SPECS])
def test_bad_specs_fail_before_any_point_runs(capsys, repo, tmp_path, sweep, needle, needle2):
    spec = write_spec(tmp_path / "spec.yaml", repo / "hw_configs/mac_array_example.yaml",
                      repo / "examples/tiny_snn.yaml", sweep)
    out = tmp_path / "out"
    code = main(["sweep", str(spec), "-o", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and needle2 in err
    assert all(line.startswith("archsim: error: ") and "spec.yaml" in line for line in err.strip().splitlines())
    assert not out.exists()          # nothing ran, nothing was written


def test_bad_trace_and_missing_files(capsys, repo, tmp_path):
    bad = tmp_path / "bad.trace"
    bad.write_bytes(b"PK\x03\x04 not a trace")
    hw = repo / "hw_configs/mac_array_example.yaml"
    for traces, needle in (([repo / "examples/tiny_snn.yaml", bad], "bad.trace"),
                           ([tmp_path / "nope.yaml"], "traces: file not found")):
        spec = write_spec(tmp_path / "spec.yaml", hw, traces, "  grid: {params.rows: [8]}")
        assert main(["sweep", str(spec), "-o", str(tmp_path / "out"), "--quiet"]) == 2
        assert needle in capsys.readouterr().err
    spec = write_spec(tmp_path / "spec.yaml", tmp_path / "nohw.yaml", repo / "examples/tiny_snn.yaml",
                      "  grid: {params.rows: [8]}")
    assert main(["sweep", str(spec), "-o", str(tmp_path / "out"), "--quiet"]) == 2
    assert "hardware: file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_validate_checks_sweep_specs(capsys, repo, tmp_path):
    good = repo / "examples/sweeps/mac_array_grid.yaml"
    bad = write_spec(tmp_path / "bad.yaml", repo / "hw_configs/mac_array_example.yaml",
                     repo / "examples/tiny_snn.yaml", "  grid: {params.rowz: [8]}")
    code = main(["validate", str(good), str(bad)])
    out = capsys.readouterr()
    assert code == 2
    assert "ok: " in out.out and "54 design points x 2 traces = 108 runs" in out.out
    assert "no key 'params.rowz'" in out.err


def test_several_base_files_are_crossed(monkeypatch, repo, tmp_path):
    from tests.sweep.support import register, write_slow_hardware

    register(monkeypatch)
    slow = write_slow_hardware(tmp_path / "slow.yaml")
    plan = make_plan(write_spec(tmp_path / "s.yaml", [repo / "hw_configs/mac_array_example.yaml", slow],
                                repo / "examples/tiny_snn.yaml", "  grid: {params.rows: [4, 8, 16]}"))
    assert [(p.base, p.values["params.rows"]) for p in plan.points] == [(0, 4), (0, 8), (0, 16),
                                                                        (1, 4), (1, 8), (1, 16)]
    assert {p.architecture for p in plan.points} == {"mac_array", "slow_mac_array"}
    # a key of one model's parameters that the other base file lacks is an error naming that file
    with pytest.raises(ConfigError, match="no key 'params.fail_rows' in .*mac_array_example.yaml"):
        make_plan(write_spec(tmp_path / "t.yaml", [slow, repo / "hw_configs/mac_array_example.yaml"],
                             repo / "examples/tiny_snn.yaml", "  grid: {params.fail_rows: [1]}"))


def test_the_spec_in_the_docs_is_valid(repo, tmp_path):
    """docs/sweeps.md's example spec, with its paths (relative to examples/sweeps/) made absolute."""
    import re

    import yaml

    text = (repo / "docs/sweeps.md").read_text()
    block = re.search(r"## The spec\n\n```yaml\n(.*?)```", text, re.S).group(1)
    data = yaml.safe_load(block)
    here = repo / "examples/sweeps"
    data["hardware"] = str((here / data["hardware"]).resolve())
    data["traces"] = [str((here / t).resolve()) for t in data["traces"]]
    spec = tmp_path / "docs_spec.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    plan = make_plan(spec)
    # 5 x 5 shapes; 19 within a 4:1 aspect ratio (|log2 rows - log2 cols| <= 2), of which 64 x 64
    # has more than 2048 MACs -> 18; x 3 memory systems x 2 explicit points x 4 random samples
    assert plan.expanded == 25 * 3 * 2 * 4
    assert len(plan.points) == 18 * 3 * 2 * 4
    assert all(p.values["params.rows"] * p.values["params.cols"] <= 2048 for p in plan.points)
    assert len(plan.rows) == 2 * len(plan.points)


def test_dry_run_prints_the_plan_and_writes_nothing(capsys, repo, tmp_path):
    out = tmp_path / "out"
    code = main(["sweep", str(repo / "examples/sweeps/mac_array_grid.yaml"), "-o", str(out), "--dry-run", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0 and not out.exists()
    assert "sweep 'mac-array-grid': 54 design points x 2 traces = 108 runs (21 of 75 points skipped" in printed
    assert "point 0: tiny-snn on mac-array-16x16-45nm (params.rows=4, params.cols=4, params.sram_kib=128" in printed
    assert main(["sweep", str(repo / "examples/sweeps/mac_array_grid.yaml"), "-o", str(out),
                 "--scheduler", "tcp://x:1"]) == 2
    assert "--scheduler needs --executor dask" in capsys.readouterr().err
