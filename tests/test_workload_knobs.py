"""Timesteps and weight sparsity as workload knobs of statistics-only traces (our per-T model:
dead neurons + Bernoulli firing), their refusal on stored tensors, the CLI flags and the sweep's
workload axes."""
import numpy as np
import pytest

from archsim.cli import main
from archsim.errors import ArchsimError, TraceError
from archsim.sweep.plan import make_plan
from archsim.trace.io import load_trace
from archsim.trace.schema import Role
from archsim.generators.stats import loas_paper as lp
from archsim.generators.stats.knobs import apply_workload, mixture_fit, retime_histogram
from tests.helpers import builder, random_spikes


def stats(hist):
    h = np.asarray(hist, dtype=float)
    T = len(h) - 1
    return h[0] / h.sum(), (np.arange(T + 1) * h).sum() / (h.sum() * T)


@pytest.mark.parametrize("layer", [0, 6, 13])
def test_mixture_reproduces_the_t0_statistics(layer):
    """Derivation check: the fitted (z, q) give back the published silent ratio and density at T0 = 4
    (ResNet19 layers: sparse, medium and dense), and the histogram at T keeps the neurons, the density
    and has silent ratio z + (1 - z)(1 - q)^T (to rounding)."""
    L = lp.NETWORKS["resnet19"][layer]
    hist = lp.spike_histogram(L.M * L.K, 4, 1 - L.spike_sparsity / 100, L.silent / 100, L.strong_silent / 100)
    s0, d = stats(hist)
    z, q = mixture_fit(hist)
    assert (1 - z) * q == pytest.approx(d, rel=1e-9)
    assert z + (1 - z) * (1 - q) ** 4 == pytest.approx(s0, abs=1e-9)
    assert retime_histogram(hist, 4) == hist
    for T in (1, 6, 8, 16):
        h = retime_histogram(hist, T)
        s, dT = stats(h)
        assert len(h) == T + 1 and sum(h) == sum(hist)
        assert dT == pytest.approx(d, abs=2 / sum(hist) * T)
        assert s == pytest.approx(z + (1 - z) * (1 - q) ** T, abs=2 / sum(hist))


def test_mixture_clamps_when_spikes_are_more_even_than_bernoulli():
    """Every neuron fires exactly twice in 4: fewer silent neurons than independent firing at that
    rate allows; the fit takes q = d (no dead neurons) rather than failing."""
    z, q = mixture_fit([0, 0, 100, 0, 0])
    assert z == pytest.approx(0) and q == pytest.approx(0.5)


def test_apply_timesteps_to_a_statistics_trace(repo):
    t = apply_workload(load_trace(repo / "examples/loas_paper/vgg16.trace"), timesteps=8)
    assert t.header.timesteps == 8 and all(op.timesteps == 8 for op in t.ops)
    assert all(len(op.operand("input").sparsity.spike_count_histogram) == 9 for op in t.ops)
    assert "our model" in t.header.provenance.notes


def test_weight_sparsity_override(repo):
    base = load_trace(repo / "examples/loas_paper/vgg16_colspread.trace")
    t = apply_workload(base, weight_sparsity=0.75)
    for op, old in zip(t.ops, base.ops):
        w = op.operand("weight")
        assert sum(w.sparsity.row_nnz) == round(w.numel * 0.25)
        assert w.sparsity.density == pytest.approx(0.25, abs=1 / w.numel)
        assert max(w.sparsity.row_nnz) <= w.numel // len(w.sparsity.row_nnz)
        old_rows = np.asarray(old.operand("weight").sparsity.row_nnz)
        assert np.argmax(w.sparsity.row_nnz) == np.argmax(old_rows)      # the spread is kept
    assert apply_workload(base) is base


def stored_trace():
    rng = np.random.default_rng(0)
    b = builder(T=4)
    x = b.operand("input", Role.spike, data=random_spikes(rng, 4, (3, 8)))
    w = b.operand("weight", Role.static_weight, data=rng.integers(-3, 4, size=(2, 8)).astype(np.int8), bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=3, in_features=8, out_features=2)
    return b.build()


def test_stored_tensors_are_refused():
    with pytest.raises(TraceError, match=r"op 'fc' operand 'input': --timesteps: the trace stores this tensor"):
        apply_workload(stored_trace(), timesteps=8)
    with pytest.raises(TraceError, match="--weight-sparsity: the trace stores the real"):
        apply_workload(stored_trace(), weight_sparsity=0.5)
    assert apply_workload(stored_trace(), timesteps=4).header.timesteps == 4     # T0 itself changes nothing
    with pytest.raises(TraceError, match="timesteps: expected an integer"):
        apply_workload(stored_trace(), timesteps=0)
    with pytest.raises(TraceError, match="weight_sparsity: expected a fraction"):
        apply_workload(stored_trace(), weight_sparsity=1.0)


def test_cli_flags(repo, tmp_path, monkeypatch, capsys):
    import json
    monkeypatch.chdir(repo)
    rc = main(["simulate", "--hw", "hw_configs/loas_paper.yaml", "--trace", "examples/loas_paper/alexnet.trace",
               "-o", str(tmp_path / "o"), "--timesteps", "6", "--weight-sparsity", "0.9", "--quiet"])
    assert rc == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["timesteps"] == 6
    trace = tmp_path / "stored.trace"
    stored_trace().save(trace)
    rc = main(["simulate", "--hw", "hw_configs/loas_paper.yaml", "--trace", str(trace), "-o", str(tmp_path / "p"),
               "--timesteps", "8", "--quiet"])
    assert rc != 0 and "--timesteps" in capsys.readouterr().err


def spec(tmp_path, repo, axes, trace="examples/loas_paper/alexnet.trace"):
    path = tmp_path / "s.yaml"
    lines = "\n".join(f"    {k}: {v}" for k, v in axes.items())
    path.write_text(f"name: t\nhardware: {repo / 'hw_configs/loas_paper.yaml'}\ntraces: [{trace}]\n"
                    f"sweep:\n  grid:\n{lines}\n")
    return path


def test_sweep_workload_axes(repo, tmp_path):
    plan = make_plan(spec(tmp_path, repo, {"workload.timesteps": "[4, 8]", "workload.weight_sparsity": "[null, 0.5]"},
                          repo / "examples/loas_paper/alexnet.trace"))
    assert len(plan.tasks) == 4 and len({t.row_id for t in plan.tasks}) == 4
    assert {tuple(sorted(t.workload.items())) for t in plan.tasks} == {
        (("timesteps", 4),), (("timesteps", 8),), (("timesteps", 4), ("weight_sparsity", 0.5)),
        (("timesteps", 8), ("weight_sparsity", 0.5))}
    assert all("workload.timesteps" not in t.overrides for t in plan.tasks)
    from archsim.sweep.worker import run_task
    row = run_task(plan.tasks[-1])
    assert row["status"] == "ok" and row["timesteps"] == 8


def test_sweep_workload_errors(repo, tmp_path):
    with pytest.raises(ArchsimError, match="unknown workload axis 'workload.timestep'.*did you mean 'workload.timesteps'"):
        make_plan(spec(tmp_path, repo, {"workload.timestep": "[4]"}, repo / "examples/loas_paper/alexnet.trace"))
    trace = tmp_path / "stored.trace"
    stored_trace().save(trace)
    with pytest.raises(ArchsimError, match="stored.trace: workload .*--timesteps"):
        make_plan(spec(tmp_path, repo, {"workload.timesteps": "[8]"}, trace))


def hist_trace(hists: dict[str, list[int]], T: int, name: str = "net"):
    """A statistics trace: one linear op per entry whose spike input has that histogram."""
    b = builder(T=T, model=name)
    for op_id, h in hists.items():
        x = b.operand("input", Role.spike, shape=[sum(h), 1], sparsity={"spike_count_histogram": h,
                                                                         "density": stats(h)[1]})
        w = b.operand("weight", Role.static_weight, shape=[2, 1], bits=8)
        b.add("linear", op_id, operands=[x, w], tokens=sum(h), in_features=1, out_features=2)
    return b.build()


def test_transfer_timesteps_moves_each_layer_as_the_reference_moved():
    """Derivation check of knobs.transfer_timesteps: a reference layer that does not change its
    mixture from T0 to T leaves the plain mixture's answer; one whose firing probability halves
    (and dead fraction rises by 0.1) moves the trace's layer the same way; unpaired ops use the
    mixture alone."""
    from archsim.generators.stats.knobs import mixture_histogram, transfer_timesteps
    ours = hist_trace({"a": [500, 200, 150, 100, 50], "b": [300, 300, 200, 150, 50], "c": [600, 200, 100, 60, 40]}, 4)
    ref4 = hist_trace({"r1": mixture_histogram(10000, 0.3, 0.4, 4), "r2": mixture_histogram(10000, 0.3, 0.4, 4)}, 4)
    ref8 = hist_trace({"r1": mixture_histogram(10000, 0.3, 0.4, 8), "r2": mixture_histogram(10000, 0.4, 0.2, 8)}, 8)
    moved = transfer_timesteps(ours, 8, ref4, ref8, [("a", "r1"), ("b", "r2")])
    plain = apply_workload(ours, timesteps=8)
    h = lambda t, op: t.op(op).operand("input").sparsity.spike_count_histogram  # noqa: E731
    assert moved.header.timesteps == 8 and all(len(h(moved, o)) == 9 for o in "abc")
    assert h(moved, "a") == pytest.approx(h(plain, "a"), abs=2)          # the reference did not move
    assert h(moved, "c") == h(plain, "c")                                   # not paired: the mixture
    z, q = mixture_fit(ours.op("b").operand("input").sparsity.spike_count_histogram)
    zb, qb = mixture_fit(h(moved, "b"))
    assert zb == pytest.approx(z + 0.1, abs=0.01) and qb == pytest.approx(q / 2, rel=0.02)
    assert "re-derived at T = 8" in moved.header.provenance.notes
    with pytest.raises(TraceError, match="recorded at T = 4, expected T = 8"):
        transfer_timesteps(ours, 8, ref4, ref4, [("a", "r1")])
    with pytest.raises(TraceError, match="no op 'zz'"):
        transfer_timesteps(ours, 8, ref4, ref8, [("a", "zz")])
    with pytest.raises(TraceError, match="no op 'zz' to move"):
        transfer_timesteps(ours, 8, ref4, ref8, [("zz", "r1")])
