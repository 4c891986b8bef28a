"""The trainable ReSpike: K/V once per clip computes the same function with T times less K/V work,
the trace's branches and timesteps, the residual frames and spikes against the forward pass, and
the hetero system's assignment (SNN on LoAS, the rest on the systolic array)."""
import numpy as np
import pytest
import torch

from archsim.trace.schema import Role
from workloads.data import load
from workloads.model_export import export_model
from workloads.papers.respike.model import respike
from workloads.train import recalibrate_bn

T = 3


def model(seed=0):
    torch.manual_seed(seed)
    m = respike(timesteps=T)
    clips = torch.from_numpy(load("fashion-mnist-clips", "train", size=40, limit=16)[0])
    m.set_input_stats(float(clips.mean()), float(clips.std()))
    recalibrate_bn(m, clips, images=16, batch_size=16)
    with torch.no_grad():                   # a trained fusion writes into the stream: not zero
        for f in m.fusions:
            f.proj_out.weight.normal_(0, 0.05)
    return m, clips


@pytest.fixture(scope="module")
def traced():
    m, clips = model()
    x = clips[:1]
    seen, hooks = {}, []
    for n, mod in m.named_modules():
        if n in ("snn_blocks.1.conv1", "residual"):
            hooks.append(mod.register_forward_hook(
                lambda mod, i, o, n=n: seen.__setitem__(n, (i[0].detach().clone(), o.detach().clone()))))
    m(x)
    for h in hooks:
        h.remove()
    every = export_model(m, x, name="r", input_bits=8, activation_bits=8)
    m.set_kv_reuse(True)
    once = export_model(m, x, name="r-once", input_bits=8, activation_bits=8)
    m.set_kv_reuse(False)
    return m, x, seen, every, once


def test_kv_once_is_the_same_function(traced):
    m, x, *_ = traced
    with torch.no_grad():
        a = m(x)
        m.set_kv_reuse(True)
        b = m(x)
        m.set_kv_reuse(False)
    assert torch.allclose(a, b, atol=1e-5) and not torch.allclose(a, torch.zeros_like(a))


def test_kv_once_saves_t_times_the_kv_work(traced):
    """Cross-attention K/V of fusion i: tokens m_i x context C_i x C_i MACs per computation
    (ANN contexts at 5x5 = 25 tokens for stages 1-3 after pooling, 3x3 = 9 for stage 4)."""
    *_, every, once = traced
    ctx, C, tokens = (32, 64, 128, 256), (16, 32, 64, 128), (25, 25, 25, 9)

    def kv(trace):
        return sum(o.macs * o.timesteps for o in trace.ops
                   if o.tags.get("part") == "cross" and o.id.endswith((".to_k", ".to_v")))
    per_clip = sum(2 * t * cc * c for t, cc, c in zip(tokens, ctx, C))
    assert kv(once) == per_clip and kv(every) == T * per_clip
    # everything else is the same work
    rest = lambda tr: sum(o.macs * o.timesteps for o in tr.ops) - kv(tr)   # noqa: E731
    assert rest(every) == rest(once)


def test_branches_and_timesteps(traced):
    *_, every, _ = traced
    by_branch = {}
    for o in every.ops:
        by_branch.setdefault(o.tags.get("branch"), []).append(o)
    assert set(by_branch) == {"ann", "snn", "fusion", "head"}
    assert all(o.timesteps == 1 for o in by_branch["ann"])                  # the key frame, once
    assert all(o.timesteps == T for o in by_branch["snn"])                  # the residual frames
    assert every.op("ann.conv1").operand("input").role == Role.activation
    lifs = [o for o in by_branch["snn"] if o.kind == "lif"]
    assert len(lifs) == 8
    # the classifier reads the SNN averaged over T and the ANN's last stage
    assert every.op("head_cat").inputs == ["head_cat.mean_t", "ann.stages.3.relu3"]


def test_residual_frames_and_spikes_match_the_forward_pass(traced):
    m, x, seen, every, _ = traced
    res = every.op("residual")
    norm = (x - m.input_mean) / m.input_std
    expected = (norm[:, 1:] - norm[:, :1]).transpose(0, 1).numpy()          # [T, B, C, H, W]
    assert res.output.shape == [1, 1, 40, 40]
    assert np.allclose(seen["residual"][1].numpy().reshape(expected.shape), expected, atol=1e-6)
    assert res.output.density == pytest.approx(float((expected != 0).mean()))
    spikes_in, _ = seen["snn_blocks.1.conv1"]
    op = every.op("snn_blocks.1.conv1")
    assert op.operand("input").role == Role.spike
    stored = every.tensor(op.operand("input").tensor)
    assert np.array_equal(stored, spikes_in.numpy().reshape(T, 1, *spikes_in.shape[1:]).astype(np.uint8))
    assert 0 < stored.mean() < 1


def test_snn_on_loas_the_rest_on_the_systolic_array(repo, monkeypatch, traced):
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate

    monkeypatch.chdir(repo)
    *_, every, _ = traced
    r = simulate(every, load_hardware("hw_configs/respike_hetero.yaml"))
    engine = dict(zip(r.ops["op_id"], r.ops["engine"]))
    for o in every.ops:
        assert engine[o.id] == ("snn" if o.tags.get("branch") == "snn" else "ann"), o.id
    s = r.summary
    assert s["engines"]["snn"]["macs"] == pytest.approx(sum(o.macs * o.timesteps for o in every.ops
                                                            if o.tags.get("branch") == "snn"))
    assert s["link"]["transfers"] > 0 and s["energy_j"] > s["engines"]["snn"]["energy_j"]
