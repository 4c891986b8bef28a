"""The trainable TT-SNN: only the first core reads spikes (in the trace and on the hetero system),
HTT's half-time cores, PTT's parallel branches, MAC counts by hand, and the baseline -> TT
initialisation (EVBMF ranks, TT-SVD cores)."""
import numpy as np
import pytest
import torch

from archsim.trace.schema import Role
from workloads.model_export import export_model
from workloads.papers.ttsnn.model import decomposed_convs, from_baseline, tt_ranks, ttsnn_resnet18, vbmf_ranks
from workloads.train import recalibrate_bn
from workloads.papers.ttsnn.decompose import conv_cores

T = 4
RANKS = [3] * 16
SMALL = dict(timesteps=T, widths=(16, 8, 8, 8))      # 16x16 input: stages at 8, 4, 2, 1 pixels


def baseline(seed=0):
    torch.manual_seed(seed)
    m = ttsnn_resnet18(**SMALL)
    recalibrate_bn(m, torch.rand(16, 1, 16, 16), images=16, batch_size=16)
    return m


@pytest.fixture(scope="module")
def traces():
    base = baseline()
    x = torch.rand(1, 1, 16, 16)
    out = {}
    for s in ("stt", "ptt", "htt"):
        m = from_baseline(base, s, RANKS, **SMALL)
        recalibrate_bn(m, torch.rand(16, 1, 16, 16), images=16, batch_size=16)
        seen, hooks = {}, []
        for n, mod in m.named_modules():
            if n.endswith(".g1"):
                hooks.append(mod.register_forward_hook(
                    lambda mod, i, o, n=n: seen.__setitem__(n.removeprefix("body."), i[0].detach().clone())))
        m(x)
        for h in hooks:
            h.remove()
        out[s] = (export_model(m, x, name=f"tt-{s}", activation_bits=8), seen)
    return out


@pytest.mark.parametrize("schedule", ["stt", "ptt", "htt"])
def test_only_the_first_core_reads_spikes(traces, schedule):
    trace, seen = traces[schedule]
    g1s = [o for o in trace.ops if o.id.endswith(".g1")]
    assert len(g1s) == 16
    for g1 in g1s:
        inp = g1.operand("input")
        assert inp.role == Role.spike
        # the stored spikes are the forward pass's
        x = seen[g1.id].numpy()
        assert np.array_equal(trace.tensor(inp.tensor), x.reshape(T, 1, *x.shape[1:]).astype(np.uint8))
    later = [o for o in trace.ops if o.id.rsplit(".", 1)[-1].split("#")[0] in ("g2", "g3", "g4")]
    assert later and all(o.operand("input").role == Role.activation and o.operand("input").bits == 8
                         for o in later)
    assert 0 < np.mean([trace.tensor(g.operand("input").tensor).mean() for g in g1s]) < 1


def test_htt_runs_the_later_cores_on_half_the_timesteps(traces):
    trace, _ = traces["htt"]
    ops = {o.id: o for o in trace.ops}
    p = "blocks.1.conv_a"
    assert ops[f"{p}.g1"].timesteps == T
    for core in ("g2", "g3", "avg", "g4", "g4#2"):
        assert ops[f"{p}.{core}"].timesteps == T // 2
    assert ops[f"{p}.g4"].inputs == [f"{p}.avg"] and ops[f"{p}.g4#2"].inputs == [f"{p}.g1"]
    assert ops[f"{p}.avg"].inputs == [f"{p}.g2", f"{p}.g3"]
    assert ops["blocks.1.lif_b"].inputs == [f"{p}.g4", f"{p}.g4#2"]     # both halves feed the block
    # the join makes no op of its own
    assert not any(o.id.endswith(".join") for o in trace.ops)


def test_ptt_branches_both_read_the_first_core(traces):
    trace, _ = traces["ptt"]
    ops = {o.id: o for o in trace.ops}
    p = "blocks.3.conv_b"
    assert ops[f"{p}.g2"].inputs == ops[f"{p}.g3"].inputs == [f"{p}.g1"]
    assert ops[f"{p}.avg"].kind == "add" and ops[f"{p}.avg"].inputs == [f"{p}.g2", f"{p}.g3"]


def test_core_macs_by_hand(traces):
    """Block 0 conv A (16 -> 16 channels, 8x8 pixels, r = 3), per timestep: G1 16*3, G2 and G3
    3*3*3, G4 3*16 MACs per pixel. STT and PTT: all on T = 4; HTT: G2, G3 on T/2, G4 on T/2 twice."""
    px = 8 * 8
    per = {"g1": 16 * 3 * px, "g2": 27 * px, "g3": 27 * px, "g4": 3 * 16 * px}
    for s in ("stt", "ptt"):
        ops = {o.id: o for o in traces[s][0].ops}
        for core, macs in per.items():
            assert ops[f"blocks.0.conv_a.{core}"].macs * ops[f"blocks.0.conv_a.{core}"].timesteps == macs * T
    ops = {o.id: o for o in traces["htt"][0].ops}
    got = sum(o.macs * o.timesteps for i, o in ops.items() if i.startswith("blocks.0.conv_a.") and o.macs)
    assert got == per["g1"] * T + (per["g2"] + per["g3"]) * T // 2 + per["g4"] * T


def test_first_core_on_loas_the_rest_on_the_systolic_arrays(repo, monkeypatch, traces):
    from archsim.config.hardware import load_hardware
    from archsim.engine import simulate

    monkeypatch.chdir(repo)
    trace, _ = traces["ptt"]
    r = simulate(trace, load_hardware("hw_configs/hetero_loas_systolic.yaml"))
    engine = dict(zip(r.ops["op_id"], r.ops["engine"]))
    for o in trace.ops:
        core = o.id.rsplit(".", 1)[-1]
        if core == "g1":
            assert engine[o.id] == "snn"
        elif core in ("g2", "g3", "g4"):
            assert engine[o.id] == "mac"


def test_from_baseline_copies_weights_and_svd_cores():
    base = baseline()
    ranks = vbmf_ranks(base)
    assert len(ranks) == 16 and all(1 <= r <= min(m.in_channels, m.out_channels)
                                    for r, (_, m) in zip(ranks, decomposed_convs(base)))
    # the ranks used: EVBMF's, at least a quarter of the channels (16 -> 4, 8 -> 2)
    used = tt_ranks(base)
    floors = [min(m.in_channels, m.out_channels) // 4 for _, m in decomposed_convs(base)]
    assert floors[:4] == [4] * 4 and floors[4:] == [2] * 12
    assert used == [max(r, f) for r, f in zip(ranks, floors)]
    tt = from_baseline(base, "stt", RANKS, **SMALL)
    assert torch.equal(tt.body.conv1.weight, base.body.conv1.weight)
    assert torch.equal(tt.body.blocks[2].bn_a.running_var, base.body.blocks[2].bn_a.running_var)
    convs = dict(decomposed_convs(base))
    for name, m in decomposed_convs(tt):
        cores = conv_cores(convs[name].weight.detach().numpy(), 3)
        for core, w in zip((m.g1, m.g2, m.g3, m.g4), cores):
            assert np.allclose(core.weight.detach().numpy(), w)


def test_htt_needs_even_timesteps():
    with pytest.raises(ValueError, match="even"):
        ttsnn_resnet18(timesteps=3, schedule="htt", ranks=RANKS, widths=(4, 4, 4, 4))
