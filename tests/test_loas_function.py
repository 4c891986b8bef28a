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
