"""The trainable STAtten: the chunked attention against its timestep-by-timestep specification,
the exported per-chunk ops against the forward pass (K^T V counts, spikes), the chunk dependence
in the trace, chunk-independent work, and a LoAS simulation of the trace."""
import numpy as np
import pytest
import torch

from archsim.trace.schema import Role
from workloads.model_export import export_model
from workloads.papers.statten.model import ChunkAttention, reference_attention, statten
from workloads.train import recalibrate_bn

T, B, D, HEADS = 4, 2, 16, 2


def small(chunk=2, seed=0):
    """1 block x D 16, 2 heads, 16x16 input -> 4x4 = 16 tokens, T = 4; batch-norm statistics from
    random images so that the neurons fire."""
    torch.manual_seed(seed)
    m = statten(timesteps=T, image_size=16, dim=D, layers=1, heads=HEADS, chunk_size=chunk)
    recalibrate_bn(m, torch.rand(32, 1, 16, 16))
    return m


@pytest.mark.parametrize("c", [1, 2, 4])
def test_chunk_attention_equals_the_timestep_by_timestep_definition(c):
    g = torch.Generator().manual_seed(c)
    q, k, v = ((torch.rand(T * B, D, 3, 3, generator=g) < 0.3).float() for _ in range(3))
    att = ChunkAttention(HEADS, c, scale=1 / 3)
    att.timesteps = T
    assert torch.allclose(att(q, k, v), reference_attention(q, k, v, T, HEADS, c, 1 / 3))


def test_output_at_t_depends_on_its_whole_chunk_only():
    """Changing K at timestep 3 changes the outputs of timesteps 2 and 3 (chunk 1 of c = 2) and
    leaves timesteps 0 and 1 alone."""
    g = torch.Generator().manual_seed(1)
    q, k, v = ((torch.rand(T, D, 3, 3, generator=g) < 0.5).float() for _ in range(3))
    att = ChunkAttention(HEADS, 2, scale=1.0)
    att.timesteps = T
    k2 = k.clone()
    k2[3] = 1 - k2[3]
    diff = (att(q, k, v) - att(q, k2, v)).abs().flatten(1).sum(1)
    assert diff[0] == 0 and diff[1] == 0 and diff[2] > 0 and diff[3] > 0


def capture(model, names):
    seen, hooks = {}, []
    for n, mod in model.named_modules():
        if n in names:
            hooks.append(mod.register_forward_hook(lambda mod, i, o, n=n: seen.__setitem__(n, o.detach().clone())))
    return seen, hooks


def test_exported_chunk_ops_match_the_forward_pass():
    model = small()
    x = torch.rand(1, 1, 16, 16)
    names = {"body.blocks.0.q_lif", "body.blocks.0.k_lif", "body.blocks.0.v_lif"}
    seen, hooks = capture(model, names)
    model(x)
    for h in hooks:
        h.remove()
    trace = export_model(model, x, name="statten-small")
    per = lambda t: t.numpy().reshape(T, HEADS, D // HEADS, 16)           # noqa: E731  [T, h, d, N]
    q, k, v = (per(seen[f"body.blocks.0.{n}_lif"]) for n in "qkv")
    assert 0 < k.mean() < 1 and 0 < v.mean() < 1                          # real, nontrivial spikes
    for j in range(2):
        kv, qa = trace.op(f"blocks.0.attn.kv.c{j}"), trace.op(f"blocks.0.attn.qa.c{j}")
        # the chunk dependence: both ops span timesteps 2j, 2j+1; Q x A needs the chunk's K^T V
        assert kv.timesteps == qa.timesteps == 2 and kv.tags["t_start"] == qa.tags["t_start"] == 2 * j
        assert kv.tags["reduce"] == "timesteps" and qa.inputs == ["blocks.0.q_lif", kv.id]
        assert kv.inputs == ["blocks.0.k_lif", "blocks.0.v_lif"]
        assert (kv.batch, kv.M, kv.K, kv.N) == (HEADS, D // HEADS, 16, D // HEADS)
        # both operands spikes, stored: exactly the forward pass's K and V of the chunk
        a, b = kv.operand("a"), kv.operand("b")
        assert a.role == b.role == Role.spike
        assert np.array_equal(trace.tensor(a.tensor), k[2 * j:2 * j + 2].astype(np.uint8))
        assert np.array_equal(trace.tensor(b.tensor), v[2 * j:2 * j + 2].transpose(0, 1, 3, 2).astype(np.uint8))
        # K^T V of the chunk, counted independently: the (timestep, token) pairs where both fired
        counts = np.zeros((HEADS, D // HEADS, D // HEADS), dtype=np.int64)
        for t in (2 * j, 2 * j + 1):
            for hd in range(HEADS):
                counts[hd] += k[t, hd].astype(np.int64) @ v[t, hd].T.astype(np.int64)
        assert np.array_equal(trace.tensor(qa.operand("b").tensor), counts)
        assert qa.operand("b").role == Role.dynamic_weight and qa.operand("a").role == Role.spike
    # the attention's LIF reads the Q x A ops of both chunks
    assert trace.op("blocks.0.attn_lif").inputs == ["blocks.0.attn.qa.c0", "blocks.0.attn.qa.c1"]


def test_attention_work_is_independent_of_the_chunk():
    """Per head: K^T V is d x N x d per timestep, Q A is N x d x d: 2 x 8 x 16 x 8 x T x heads."""
    x = torch.rand(1, 1, 16, 16)
    expected = 2 * 8 * 16 * 8 * T * HEADS
    for c in (1, 2, 4):
        trace = export_model(small(chunk=c), x, name=f"c{c}")
        ops = [o for o in trace.ops if o.tags.get("chunk") is not None]
        assert len(ops) == 2 * T // c
        assert sum(o.macs * o.timesteps for o in ops) == expected


def test_small_statten_simulates_on_loas(repo, monkeypatch, tmp_path):
    """Every op is costed on LoAS, the K^T V ops with the temporal-parallel spike x spike path
    (both operands packed: pairs go through the TPPE's prefix / correction units)."""
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate
    from archsim.trace.io import load_trace

    monkeypatch.chdir(repo)
    trace = load_trace(export_model(small(), torch.rand(1, 1, 16, 16), name="statten-small").save(tmp_path / "s.trace"))
    r = simulate(trace, load_hardware("hw_configs/loas.yaml"))
    assert r["macs"] == pytest.approx(sum(o.macs * o.timesteps for o in trace.ops))
    ops = r.ops.set_index("op_id")
    assert set(ops.index) == {o.id for o in trace.ops}
    assert (ops.loc[["blocks.0.attn.kv.c0", "blocks.0.attn.kv.c1"], "cycles"] > 0).all()
