"""The Spikformer-style block: its attention against Spikformer's own (Q K^T) V, the folded scale
against Spikformer's scaled attention LIF, the exported trace (every GEMM of the block reads spikes;
A = Q K^T a spike x spike matmul; O^T = V^T A^T with the spikes first; MACs by hand), and the trace
through the LoAS dataflow with the functional check. Compared against: the authors' formulation
written out (reference_ssa), hand-counted MACs, and the dense product (function check)."""
import numpy as np
import pytest
import torch

from archsim.trace.schema import Role
from workloads.model_export import export_model
from workloads.papers.spikformer.model import ATTN_THRESHOLD, SPIKFORMER_SCALE, SSA, reference_ssa, spikformer
from workloads.snn.neuron import LIF
from workloads.train import recalibrate_bn

T, D, HEADS, IMG = 4, 16, 2, 16


def small(seed=0):
    """1 block x D 16, 2 heads, 16x16 input -> 4x4 = 16 tokens, T = 4; batch-norm statistics from
    random images so that the neurons fire."""
    torch.manual_seed(seed)
    m = spikformer(timesteps=T, dim=D, heads=HEADS, layers=1)
    recalibrate_bn(m, torch.rand(32, 1, IMG, IMG))
    return m


def test_ssa_equals_spikformers_attention():
    g = torch.Generator().manual_seed(1)
    q, k, v = ((torch.rand(T * 2, 32, 4, 4, generator=g) < p).float() for p in (0.2, 0.3, 0.4))
    assert torch.equal(SSA(4)(q, k, v), reference_ssa(q, k, v, 4))
    assert reference_ssa(q, k, v, 4).abs().sum() > 0


def test_scale_folded_into_the_attention_threshold():
    """Spikformer's LIF (threshold 0.5) on the 0.125-scaled product fires exactly where the block's
    LIF (threshold 4) fires on the unscaled product."""
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 12, (T * 3, 40), generator=g).float()
    theirs, ours = LIF(tau=2.0, v_threshold=ATTN_THRESHOLD), LIF(tau=2.0, v_threshold=ATTN_THRESHOLD / SPIKFORMER_SCALE)
    for n in (theirs, ours):
        n.timesteps = T
    s = ours(x)
    assert torch.equal(theirs(x * SPIKFORMER_SCALE), s) and 0 < s.mean() < 1


def test_exported_block(repo, tmp_path):
    from archsim.trace.io import load_trace

    trace = load_trace(export_model(small(), torch.rand(1, 1, IMG, IMG), name="spikformer-small")
                       .save(tmp_path / "s.trace"))
    N, d = (IMG // 4) ** 2, D // HEADS
    qk, va = trace.op("blocks.0.attn.qk"), trace.op("blocks.0.attn.va")
    assert (qk.batch, qk.M, qk.K, qk.N) == (HEADS, N, d, N) and (va.batch, va.M, va.K, va.N) == (HEADS, d, N, N)
    assert qk.operand("a").role == qk.operand("b").role == Role.spike
    assert va.operand("a").role == Role.spike and va.operand("b").role == Role.activation
    assert qk.inputs == ["blocks.0.q_lif", "blocks.0.k_lif"] and va.inputs == ["blocks.0.v_lif", "blocks.0.attn.qk"]
    assert trace.op("blocks.0.attn_lif").inputs == ["blocks.0.attn.va"]
    block_gemms = [o for o in trace.ops if o.id.startswith("blocks.") and o.kind in ("conv2d", "matmul")]
    assert len(block_gemms) == 8
    for o in block_gemms:       # every GEMM of the block reads spikes (the LIF before each one)
        assert o.operand("a" if o.kind == "matmul" else "input").role == Role.spike, o.id
    macs = {o.id: o.macs * o.timesteps for o in block_gemms}
    assert macs["blocks.0.fc1.conv"] == T * N * D * 4 * D and macs["blocks.0.fc2.conv"] == T * N * 4 * D * D
    assert macs["blocks.0.attn.qk"] == macs["blocks.0.attn.va"] == T * HEADS * N * N * d
    assert sum(macs.values()) == T * (4 * N * D * D + 2 * HEADS * N * N * d + 2 * N * D * 4 * D)


def test_block_runs_through_the_loas_dataflow(repo, tmp_path):
    """The trace on LoAS (cycle-level TPPE model and paper-compatible model): every op costed,
    the attention's spike x spike product included; the FTP join of every stored spike layer equals
    the dense product."""
    from archsim.arch.loas_function import check_function
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.trace.io import load_trace

    trace = load_trace(export_model(small(), torch.rand(1, 1, IMG, IMG), name="spikformer-small")
                       .save(tmp_path / "s.trace"))
    for hw_file in ("hw_configs/loas.yaml", "hw_configs/loas_paper.yaml"):
        hw = load_hardware(repo / hw_file)
        r = simulate(trace, hw)
        ops = r.ops.set_index("op_id")
        assert set(ops.index) == {o.id for o in trace.ops}
        assert (ops.loc[["blocks.0.attn.qk", "blocks.0.attn.va", "blocks.0.fc1.conv"], "cycles"] > 0).all()
        res = check_function(trace, hw)
        assert res.passed, res.line()
        assert {"blocks.0.fc1.conv", "blocks.0.fc2.conv", "blocks.0.q.conv"} <= set(res.ops_checked)
        assert res.ops_skipped["blocks.0.attn.qk"].startswith("spike x spike")


def test_registry_entry():
    from workloads import registry
    e = registry.get("spikformer-fmnist")
    assert e.kind == "snn" and {"main", "quick"} <= set(e.schedules)
    assert 0.8 <= e.schedules["main"]["target_sparsity"] < 1.0
    model = e.build(num_classes=10, timesteps=4, encoding="direct", in_channels=1)
    assert model(torch.rand(2, 1, 32, 32)).shape == (2, 10)
    assert not np.isnan(sum(p.sum().item() for p in model.parameters()))


def test_bad_width_is_refused():
    with pytest.raises(ValueError, match="multiple of heads"):
        spikformer(dim=20, heads=3)


def test_recipe_ffn_runs_keep_only_fc1(repo, tmp_path):
    """reports/spikformer_loas.yaml's feed-forward runs leave exactly blocks.0.fc1.conv of the
    exported network (the op names do not depend on the width), and the trace it reads is one
    setup.sh exports before `archsim reproduce`."""
    from archsim.report.recipe import load_recipe
    from archsim.trace.select import without_ops

    trace = export_model(small(), torch.rand(1, 1, IMG, IMG), name="spikformer-small")
    recipe, base = load_recipe(repo / "reports" / "spikformer_loas.yaml")
    ffn = [r for r in recipe.runs if r.name.startswith("ffn-")]
    assert len(ffn) == 3
    for r in ffn:
        assert [o.id for o in without_ops(trace, r.skip_ops, r.name).ops] == ["blocks.0.fc1.conv"]
    setup = (repo / "setup.sh").read_text()
    lines = setup.splitlines()
    export_line = next(i for i, l in enumerate(lines) if "export spikformer-fmnist" in l and "-o reports/traces/spikformer-fmnist.trace" in l)
    reproduce = next(i for i, l in enumerate(lines) if "archsim reproduce" in l and not l.lstrip().startswith("#"))
    assert export_line < reproduce
    assert {str((base / r.trace).resolve().relative_to(repo)) for r in recipe.runs if "spikformer" in r.trace} == {
        "reports/traces/spikformer-fmnist.trace"}
