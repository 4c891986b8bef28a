"""ReSpike shape-only traces: branch work against an independent count, the cross-attention K/V
reuse, the graph between the branches, and the hybrid on the heterogeneous system."""
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.generators.shapes import respike


@pytest.fixture(scope="module")
def traces():
    return {"code": respike.respike_trace(), "reuse": respike.respike_trace(kv_reuse=True),
            "ann": respike.ann_only_trace()}


def fusion_macs(C, n, m, Cc):
    """One fusion transformer, per timestep: proj_in + proj_out 2 C^2 n; self-attention q, k, v,
    out 4 C^2 n + QK^T, AV 2 n^2 C; cross-attention q, out 2 C^2 n + k, v 2 m Cc C + QK^T, AV
    2 n m C; GEGLU C*8C*n + 4C*C*n."""
    return 2 * C * C * n + 4 * C * C * n + 2 * n * n * C + 2 * C * C * n + 2 * m * Cc * C + 2 * n * m * C + 12 * C * C * n


def test_branch_work(traces):
    """Per key-frame group at stride 4 (T = 3): ANN ResNet-50 4.087 GMAC; SNN 3 x 1.730 G; fusion
    3 x (32.3 + 109.6 + 399.0 + 364.6) M (research/workloads.md 2.3: 4.09 G, 1.73 G, 0.91 G)."""
    m = traces["code"].header.metrics
    fusion = sum(fusion_macs(C, n, m_, Cc) for C, n, m_, Cc in
                 ((64, 196, 196, 256), (128, 196, 196, 512), (256, 196, 196, 1024), (512, 49, 49, 2048)))
    assert fusion == 905_476_096
    assert m["macs_fusion"] == 3 * fusion
    assert m["macs_ann"] == pytest.approx(4.09e9, rel=2e-3)
    # SNN: stem 112^2*27*64; stage 1 (56^2): 4 3x3 convs 64->64 + shortcut 64->64; stages 2-4 likewise
    snn = 112 ** 2 * 27 * 64
    for c_in, c, hw in ((64, 64, 56), (64, 128, 28), (128, 256, 14), (256, 512, 7)):
        snn += hw * hw * (9 * c_in * c + 3 * 9 * c * c + c_in * c)
    assert m["macs_snn"] == 3 * snn
    assert snn == pytest.approx(1.73e9, rel=3e-3)


def test_kv_once_per_key_frame(traces):
    """K/V of the four cross-attentions: 2*196*256*64 + 2*196*512*128 + 2*196*1024*256 +
    2*49*2048*512 = 237,699,072 MAC per timestep; once per group instead of T = 3 times saves two
    of them, and nothing else changes."""
    per_t = 2 * 196 * 256 * 64 + 2 * 196 * 512 * 128 + 2 * 196 * 1024 * 256 + 2 * 49 * 2048 * 512
    code, reuse = traces["code"].header.metrics, traces["reuse"].header.metrics
    assert code["macs_cross_kv"] == 3 * per_t and reuse["macs_cross_kv"] == per_t
    assert code["macs_fusion"] - reuse["macs_fusion"] == 2 * per_t
    k = traces["reuse"].op("fusion3.cross.k")
    assert k.timesteps == 1 and k.tags["reuse"] == "key_frame" and k.inputs == ["ann.layer3.5.add"]


def test_graph_between_branches(traces):
    tr = traces["code"]
    assert tr.op("fusion1.cross.k").inputs == ["ann.ctx1.pool"]          # ANN stage 1, pooled to 14x14
    assert tr.op("fusion4.cross.qk").inputs == ["fusion4.cross.q", "fusion4.cross.k"]
    assert tr.op("snn.layer2.0.lif1").inputs == ["fusion1.upsample"]    # the fused stream feeds the next stage
    assert tr.op("head.concat").inputs == ["head.snn_mean", "ann.layer4.2.add"]
    assert {op.tags["branch"] for op in tr.ops} == {"ann", "snn", "fusion", "head"}
    assert tr.op("snn.conv1").timesteps == 3 and tr.op("ann.conv1").timesteps == 1


def test_ann_only_alternative(traces):
    """ResNet-50 on all four frames of the group: 4 x 4.087 GMAC."""
    assert traces["ann"].header.metrics["macs_ann"] == 4 * traces["code"].header.metrics["macs_ann"]


def test_hybrid_on_the_hetero_system(repo, traces):
    """SNN ops on LoAS, everything else on the systolic array; the K/V reuse lowers the fusion
    energy by the K/V work saved and leaves the SNN untouched."""
    hw = load_hardware(repo / "hw_configs/respike_hetero.yaml")
    code, reuse = simulate(traces["code"], hw), simulate(traces["reuse"], hw)
    eng = dict(zip(code.ops["op_id"], code.ops["engine"]))
    assert eng["snn.layer1.0.conv1"] == "snn" and eng["fusion1.cross.k"] == "ann" and eng["ann.conv1"] == "ann"
    assert code["engines"]["snn"]["macs"] == traces["code"].header.metrics["macs_snn"]
    assert code["link"]["transfers"] > 0
    assert reuse["engines"]["ann"]["energy_j"] < code["engines"]["ann"]["energy_j"]
    assert reuse["engines"]["snn"]["busy_s"] == pytest.approx(code["engines"]["snn"]["busy_s"])


def test_bad_configurations():
    with pytest.raises(ValueError, match="stride must be >= 2"):
        respike.respike_trace(stride=1)
    with pytest.raises(ValueError, match="multiple of 32"):
        respike.respike_trace(image=100)
