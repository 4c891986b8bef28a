"""LoAS functional mode: the FTP join (pseudo-accumulator minus corrections) computes a stored
layer's output exactly as the dense product of the same tensors, on a conv + LIF + linear trace
built here with stored spikes and int8 weights; a wrong join is caught; bad uses get one-line
errors."""
import numpy as np
import pytest

from archsim.arch.loas_function import check_function, check_view
from archsim.cli import main
from archsim.config.hardware import load_hardware
from archsim.errors import TraceError
from archsim.trace.schema import Role
from archsim.generators.stats import loas_paper as lp
from tests.helpers import builder, random_spikes


def stored_trace(tmp_path, T=4, seed=3):
    rng = np.random.default_rng(seed)
    b = builder(T=T)
    x = b.operand("input", Role.spike, data=random_spikes(rng, T, (1, 3, 6, 6), 0.3))
    w = rng.integers(-127, 128, size=(8, 3, 3, 3)).astype(np.int8)
    w[rng.random(w.shape) < 0.7] = 0                       # pruned
    b.add("conv2d", "conv", operands=[x, b.operand("weight", Role.static_weight, data=w, bits=8)],
          batch=1, in_channels=3, out_channels=8, in_h=6, in_w=6, kernel_h=3, kernel_w=3, pad_h=1, pad_w=1)
    s = b.operand("input", Role.spike, data=random_spikes(rng, T, (1, 8 * 36), 0.2))
    fc = rng.integers(-127, 128, size=(5, 8 * 36)).astype(np.int8)
    fc[rng.random(fc.shape) < 0.9] = 0
    b.add("linear", "fc", operands=[s, b.operand("weight", Role.static_weight, data=fc, bits=8)],
          tokens=1, in_features=8 * 36, out_features=5)
    path = tmp_path / "stored.trace"
    b.build().save(path)
    return path


@pytest.mark.parametrize("strong", [False, True])
def test_ftp_join_equals_dense_product(repo, tmp_path, strong):
    from archsim.trace.io import load_trace
    hw = load_hardware(repo / "hw_configs/loas_paper.yaml", overrides={"params.strong_silent": strong})
    res = check_function(load_trace(stored_trace(tmp_path)), hw)
    assert res.passed and res.ops_checked == ["conv", "fc"]
    assert res.outputs == 4 * (36 * 8 + 5) and res.matches > 0 and 0 < res.mispredictions <= res.matches


def test_a_wrong_join_is_caught(monkeypatch, tmp_path, repo):
    """Break the correction path (drop the last timestep's correction): the check reports the first
    output that differs, in one line."""
    import archsim.arch.loas_function as lf
    real = lf.ftp_accumulate

    def broken(words, weights, T, backend="numba"):
        o, k, miss = real(words, weights, T, backend=backend)
        o = o.copy()
        o[-1] = o[0]
        return o, k, miss
    monkeypatch.setattr(lf, "ftp_accumulate", broken)
    from archsim.trace.io import load_trace
    res = check_function(load_trace(stored_trace(tmp_path)), load_hardware(repo / "hw_configs/loas_paper.yaml"))
    assert not res.passed and res.line().startswith("function check FAILED: op 'conv'")
    assert "\n" not in res.line()


def test_check_view_by_hand():
    """One row, K = 3: words 0b0101, 0b1111, 0 with weights 2, -1, 5 (one column): matched pairs are
    k0 and k1 (k2 silent); pseudo = 2 - 1 = 1; word 0b0101 is corrected at t1, t3 -> O = [1, -1, 1, -1]."""
    out, k, miss, widest = check_view(np.array([[0b0101, 0b1111, 0]], dtype=np.uint8),
                                      np.array([[2], [-1], [5]], dtype=np.int8), 4, backend="reference")
    assert out[:, 0, 0].tolist() == [1, -1, 1, -1] and k == 2 and miss == 1 and widest == 1


def test_cli_check_function(repo, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    trace = stored_trace(tmp_path)
    rc = main(["simulate", "--hw", "hw_configs/loas_paper.yaml", "--trace", str(trace), "-o", str(tmp_path / "o"),
               "--check-function", "--quiet"])
    assert rc == 0 and "function check passed: 2 GEMM ops" in capsys.readouterr().out
    rc = main(["simulate", "--hw", "hw_configs/sparten_s_paper.yaml", "--trace", str(trace), "-o", str(tmp_path / "p"),
               "--check-function", "--quiet"])
    assert rc != 0 and "only the 'loas' model has a functional mode" in capsys.readouterr().err


def test_statistics_traces_cannot_be_checked(repo):
    res = check_function(lp.build_trace("alexnet"), load_hardware(repo / "hw_configs/loas_paper.yaml"))
    assert not res.passed and "statistics only" in res.line()


def test_float_weights_are_refused(repo, tmp_path):
    rng = np.random.default_rng(0)
    b = builder(T=2)
    x = b.operand("input", Role.spike, data=random_spikes(rng, 2, (2, 4)))
    w = b.operand("weight", Role.static_weight, data=rng.normal(size=(3, 4)).astype(np.float32), bits=32)
    b.add("linear", "fc", operands=[x, w], tokens=2, in_features=4, out_features=3)
    with pytest.raises(TraceError, match="non-integer weights"):
        check_function(b.build(), load_hardware(repo / "hw_configs/loas_paper.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["", "-strong"])
@pytest.mark.parametrize("net", ["alexnet", "vgg16", "resnet19"])
def test_real_loas_traces(repo, net, suffix):
    """The main job's real LoAS traces (setup.sh: reports/traces/loas-*.trace, int8 weights and the
    spikes of a real image): every stored spike layer through the FTP join equals the dense product.
    Skipped where the main job has not run."""
    from archsim.trace.io import load_trace
    path = repo / "reports" / "traces" / f"loas-{net}{suffix}.trace"
    if not path.exists():
        pytest.skip(f"{path} not produced yet (run setup.sh)")
    hw = load_hardware(repo / "hw_configs/loas_paper.yaml", overrides={"params.strong_silent": bool(suffix)})
    res = check_function(load_trace(path), hw)
    assert res.passed, res.line()


def _function_recipe(tmp_path, trace, runs_yaml: str, checks_yaml: str):
    path = tmp_path / "fn.yaml"
    path.write_text(f"name: fn\nruns:\n{runs_yaml}\nchecks:\n{checks_yaml}")
    return path


def test_recipe_runs_the_function_check(repo, tmp_path):
    """``check_function: true`` on a recipe run puts the check's figures in the run's summary;
    an invariant check on ``function_check.passed`` reads them (and a non-loas design is refused)."""
    from archsim.report.recipe import run_recipe
    trace = stored_trace(tmp_path)
    runs = (f"  - {{name: loasft, trace: {trace}, hw: {repo}/hw_configs/loas_paper.yaml, "
            "set: {params.strong_silent: true}, check_function: true}\n")
    check = ("  - {kind: invariant, name: join, metric: function_check.passed, run: loasft, published: 1.0,"
             " tolerance: 1.0e-9, source: identity}\n")
    out = run_recipe(_function_recipe(tmp_path, trace, runs, check), tmp_path / "out")
    fc = out["summaries"]["loasft"]["function_check"]
    assert fc["passed"] == 1.0 and fc["ops_checked"] == 2 and fc["outputs"] == 4 * (36 * 8 + 5) and fc["mismatch"] is None
    assert out["checks"][0]["pass"]
    import json
    assert json.loads((tmp_path / "out" / "fn" / "loasft" / "summary.json").read_text())["function_check"] == fc
    bad = runs.replace("loas_paper.yaml", "gamma_s_paper.yaml").replace(", set: {params.strong_silent: true}", "")
    with pytest.raises(TraceError, match="only the 'loas' model has a functional mode"):
        run_recipe(_function_recipe(tmp_path, trace, bad, check), tmp_path / "out2")


def test_loas_real_recipe_checks_the_function_of_every_loas_run(repo):
    """reports/loas_real.yaml runs the functional check on each LoAS run of the real traces, with
    one invariant check each."""
    from archsim.report.recipe import load_recipe
    recipe, _ = load_recipe(repo / "reports" / "loas_real.yaml")
    checked = {r.name for r in recipe.runs if r.check_function}
    assert checked == {f"{n}-{d}" for n in ("alexnet", "vgg16", "resnet19") for d in ("loas", "loasft")}
    assert {c.run for c in recipe.checks if c.metric == "function_check.passed" and c.kind == "invariant"} == checked


@pytest.mark.slow
def test_function_check_on_a_quick_real_export(repo, tmp_path):
    """A small real trace from the frontend (loas-alexnet, quick schedule: trained and pruned here,
    or taken from the checkpoint cache) through the LoAS runs of reports/loas_real.yaml with their
    functional check: the FTP join equals the dense product on every stored spike layer."""
    pytest.importorskip("torch")
    import os
    import subprocess
    import sys

    from archsim.report.recipe import load_recipe, run_recipe
    trace = tmp_path / "loas-alexnet-quick.trace"
    cache = os.environ.get("ARCHSIM_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    subprocess.run([sys.executable, "-m", "workloads.cli", "export", "loas-alexnet", "--schedule", "quick", "-q",
                    "--device", "cpu", "--cache-dir", cache, "-o", str(trace)], check=True, cwd=repo)
    recipe, _ = load_recipe(repo / "reports" / "loas_real.yaml")
    runs = "".join(
        f"  - {{name: {r.name}, trace: {trace}, hw: {repo}/hw_configs/loas_paper.yaml, "
        f"set: {{params.strong_silent: {str(bool(r.set.get('params.strong_silent'))).lower()}}}, "
        f"skip_ops: [{', '.join(r.skip_ops)}], check_function: true}}\n"
        for r in recipe.runs if r.check_function and r.name.startswith("alexnet"))
    checks = "".join(
        f"  - {{kind: invariant, name: '{c.name}', metric: {c.metric}, run: {c.run}, published: 1.0, "
        f"tolerance: 1.0e-9, source: identity}}\n"
        for c in recipe.checks if c.metric == "function_check.passed" and c.run.startswith("alexnet"))
    out = run_recipe(_function_recipe(tmp_path, trace, runs, checks), tmp_path / "out")
    assert len(out["checks"]) == 2 and all(c["pass"] for c in out["checks"]), out["checks"]
    for s in out["summaries"].values():
        assert s["function_check"]["ops_checked"] == 4      # conv2..conv5 (the recipe skips conv1, fc, LIF, pools)
