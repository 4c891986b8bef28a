"""TT-SNN shape-only traces: parameter and MAC reductions of the ResNet-34 configuration (our
count from the ranks and the paper's), the structure of the three schedules, and a simulation
on the heterogeneous LoAS + systolic system."""
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.trace.schema import Role
from archsim.generators.shapes import ttsnn


@pytest.fixture(scope="module")
def r34():
    return {s: ttsnn.preset_trace("resnet34_ncaltech101", s) for s in ttsnn.SCHEDULES}


def test_resnet34_baseline_counts_by_layer(r34):
    """The SATA_Sim ResNet-34 workload lists 33 convs + FC: 21,139,072 weights (no shortcut
    convs); with the three 1x1 shortcuts (64->128, 128->256, 256->512: 8192 + 32768 + 131072 =
    172,032) 21,311,104."""
    m = r34["baseline"].header.metrics
    assert m["params_no_shortcut"] == 21_139_072 and m["params"] == 21_311_104


def test_resnet34_reductions_our_count(r34):
    """From the ranks, without the shortcut convs (SATA_Sim's layer list): 21.14 M -> 2.50 M
    weights = 8.46x, 2.593 -> 0.268 GMAC per timestep = 9.68x (research/workloads.md 2.7)."""
    b, s = r34["baseline"].header.metrics, r34["stt"].header.metrics
    assert b["params_no_shortcut"] / s["params_no_shortcut"] == pytest.approx(8.46, rel=1e-3)
    assert b["macs_per_timestep_no_shortcut"] / s["macs_per_timestep_no_shortcut"] == pytest.approx(9.68, rel=1e-3)


def test_resnet34_reductions_as_the_paper_counts(r34):
    """Counting the undecomposed 1x1 shortcut convs too gives the paper's 7.98x parameters and
    9.25x FLOPs (TT-SNN, DATE 2024): the difference from 8.46x / 9.68x is those 172 K weights
    and 14.2 M MACs per timestep, the same in both networks."""
    b, s = r34["baseline"].header.metrics, r34["stt"].header.metrics
    assert b["params"] / s["params"] == pytest.approx(7.98, rel=1e-3)
    assert b["macs_per_timestep"] / s["macs_per_timestep"] == pytest.approx(9.25, rel=1e-3)
    assert b["params"] - b["params_no_shortcut"] == s["params"] - s["params_no_shortcut"] == 172_032


def test_ptt_same_work_as_stt_htt_less(r34):
    """PTT has the MACs and weights of STT; HTT runs G2, G3 for T//2 = 3 of 6 timesteps only."""
    s, p, h = (r34[k].header.metrics for k in ("stt", "ptt", "htt"))
    assert p["params"] == s["params"] == h["params"]
    assert p["macs_per_timestep"] == s["macs_per_timestep"] > h["macs_per_timestep"]
    g2g3 = sum(o.macs for o in r34["stt"].ops if o.tags.get("tt_core") in ("g2", "g3"))   # per timestep
    assert s["macs_per_timestep"] - h["macs_per_timestep"] == pytest.approx(g2g3 * 3 / 6)


def test_only_the_first_core_sees_spikes(r34):
    for schedule in ("stt", "ptt", "htt"):
        for op in r34[schedule].ops:
            core = op.tags.get("tt_core")
            if core in ("g1", "g2", "g3", "g4"):
                expected = Role.spike if core == "g1" else Role.activation
                assert op.operand("input").role == expected, (schedule, op.id)


def test_schedules_structure(r34):
    stt = {o.id: o for o in r34["stt"].ops}
    assert stt["s1.b0.conv_a.g3"].inputs == ["s1.b0.conv_a.g2"]
    ptt = {o.id: o for o in r34["ptt"].ops}
    assert ptt["s1.b0.conv_a.g2"].inputs == ptt["s1.b0.conv_a.g3"].inputs == ["s1.b0.conv_a.g1"]
    assert ptt["s1.b0.conv_a.avg"].inputs == ["s1.b0.conv_a.g2", "s1.b0.conv_a.g3"]
    htt = {o.id: o for o in r34["htt"].ops}
    assert htt["s1.b0.conv_a.g2"].timesteps == 3 and htt["s1.b0.conv_a.g1"].timesteps == 6
    assert htt["s1.b0.conv_a.g4r"].inputs == ["s1.b0.conv_a.g1"] and htt["s1.b0.conv_a.g4r"].timesteps == 3
    assert htt["s1.b0.lif_b"].inputs == ["s1.b0.conv_a.g4", "s1.b0.conv_a.g4r"]
    # downsampling: G1 strided (SATA layout) or cores at full size then a 2x2 pool (released code)
    assert stt["s2.b0.conv_a.g1"].stride_h == 2 and stt["s2.b0.conv_a.g2"].in_h == 24
    pool = {o.id: o for o in ttsnn.preset_trace("resnet34_ncaltech101", "stt", downsample="pool").ops}
    assert pool["s2.b0.conv_a.g2"].in_h == 48 and pool["s2.b0.conv_a.g4.pool"].in_h == 48


def test_resnet18_default_ranks_and_bad_ranks():
    """ResNet-18's ranks: ResNet-34's first two blocks of each stage."""
    assert ttsnn.default_ranks(18) == (24, 23, 22, 17, 22, 31, 25, 25, 48, 79, 64, 69, 121, 170, 173, 147)
    tr = ttsnn.preset_trace("resnet18_cifar10", "stt")
    assert tr.op("s4.b1.conv_b.g1").out_channels == 147
    with pytest.raises(ValueError, match="16 decomposed convs, got 3 ranks"):
        ttsnn.preset_trace("resnet18_cifar10", "stt", ranks=[4, 4, 4])
    with pytest.raises(ValueError, match="schedule must be one of"):
        ttsnn.tt_trace(depth=18, image=32, in_chans=3, classes=10, timesteps=4, schedule="xtt")


def test_schedules_on_the_hetero_system(repo, r34):
    """G1 (spikes) on the LoAS engine, G2-G4 on the two systolic copies. PTT's G2 and G3 run side
    by side on the two copies: PTT is faster than STT with the same MACs; HTT is faster still."""
    hw = load_hardware(repo / "hw_configs/hetero_loas_systolic.yaml")
    res = {s: simulate(r34[s], hw) for s in ("stt", "ptt", "htt")}
    ops = res["stt"].ops.set_index("op_id")
    assert ops.loc["s1.b0.conv_a.g1", "engine"] == "snn" and ops.loc["s1.b0.conv_a.g2", "engine"] == "mac"
    assert res["ptt"]["latency_s"] < res["stt"]["latency_s"]
    assert res["htt"]["latency_s"] < res["ptt"]["latency_s"]
    assert res["ptt"]["macs"] == res["stt"]["macs"]
    one = simulate(r34["ptt"], load_hardware(repo / "hw_configs/hetero_loas_systolic.yaml",
                                            {"params.engines.mac.copies": 1}))
    assert one["latency_s"] > res["ptt"]["latency_s"]     # with one systolic array the branches serialise
