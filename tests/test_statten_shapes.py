"""STAtten shape-only traces: the published parameter counts, attention work independent of the
chunk size, the chunk structure of the trace, and a simulation on LoAS."""
import math

import pytest

from archsim.engine import simulate
from archsim.trace.schema import Role
from archsim.generators.shapes import statten


@pytest.mark.parametrize("name", sorted(statten.PRESETS))
def test_published_parameter_counts(name):
    """2.57 / 10.24 / 29.70 / 66.35 M (research/workloads.md 2.2) within 0.12 %: ours 2.567 /
    10.234 / 29.690 / 66.339 M (the Spike-driven Transformer paper gives 29.68 and 66.34 M for
    the two ImageNet backbones)."""
    ours = statten.parameter_count(**statten.PRESETS[name]) / 1e6
    assert ours == pytest.approx(statten.PUBLISHED_PARAMS_M[name], rel=1.2e-3)


def test_parameter_count_by_hand():
    """D = 256, 2 blocks, 8 heads, 10 classes. Stem: 3x3 convs 3->32->64->128->256 = 27*32 +
    288*64 + 576*128 + 1152*256 = 864 + 18432 + 73728 + 294912 = 387936, rpe 2304*256 = 589824,
    BN 2*(32+64+128+256+256) = 1472 -> 979232. Block: Q, K, V 3*(65536 + 512) = 198144,
    talking heads 64, proj 65536 + 256 + 512 = 66304, fc1 262144 + 1024 + 2048 = 265216, fc2
    262144 + 256 + 512 = 262912 -> 792640. Head 2570. Total 979232 + 2*792640 + 2570 = 2567082."""
    assert statten.parameter_count(**statten.PRESETS["cifar10_2_256"]) == 2567082


def attention_macs(trace):
    return sum(op.macs * op.timesteps for op in trace.ops if ".attn.kv." in op.id or ".attn.qa." in op.id)


@pytest.mark.parametrize("name", ["cifar10_2_256", "imagenet_8_768"])
def test_attention_work_independent_of_chunk(name):
    """T * 2 * D * d * N per block for c = 1, 2, 4: CIFAR-256 4*2*256*32*64*2 blocks = 8388608;
    ImageNet-768: 4*2*768*96*196*8 = 924844032."""
    p = statten.PRESETS[name]
    D, d, N = p["dim"], p["dim"] // p["heads"], (p["image"] // 2 ** p["pooling_stat"].count("1")) ** 2
    expected = p["timesteps"] * 2 * D * d * N * p["layers"]
    for c in (1, 2, 4):
        assert attention_macs(statten.preset_trace(name, chunk_size=c)) == expected
    # and the rest of the network does not change either
    totals = {sum(o.macs * o.timesteps for o in statten.preset_trace(name, chunk_size=c).ops) for c in (1, 2, 4)}
    assert len(totals) == 1


def test_chunk_ops_record_the_dependence():
    tr = statten.preset_trace("cifar10_2_256", chunk_size=2)
    kv = [op for op in tr.ops if op.id.startswith("b0.attn.kv.")]
    qa = [op for op in tr.ops if op.id.startswith("b0.attn.qa.")]
    assert [op.id for op in kv] == ["b0.attn.kv.c0", "b0.attn.kv.c1"]
    for j, (k, q) in enumerate(zip(kv, qa)):
        assert k.timesteps == q.timesteps == 2
        assert k.tags["chunk"] == j and k.tags["chunk_size"] == 2 and k.tags["t_start"] == 2 * j
        assert k.tags["reduce"] == "timesteps"
        assert k.operand("a").role == Role.spike and k.operand("b").role == Role.spike
        assert k.inputs == ["b0.attn.k_lif", "b0.attn.v_lif"]
        assert q.inputs == ["b0.attn.q_lif", k.id]
        assert q.operand("b").role == Role.dynamic_weight
        assert q.operand("b").bits == math.ceil(math.log2(2 * 64 + 1)) == 8   # counts up to c*N = 128
        assert (k.gemm.M, k.gemm.K, k.gemm.N, k.gemm.groups) == (32, 64, 32, 8)
    lif = tr.op("b0.attn.lif_attn")
    assert lif.inputs == ["b0.attn.qa.c0", "b0.attn.qa.c1"] and lif.threshold == 0.5 and lif.timesteps == 4


def test_sdt_attention_variant_has_no_matmul():
    tr = statten.preset_trace("cifar10_2_256", attention="sdt")
    assert not [op for op in tr.ops if op.kind == "matmul"]
    assert tr.op("b1.attn.mask_q").inputs == ["b1.attn.q_lif", "b1.attn.kv_lif"]


def test_bad_configurations():
    with pytest.raises(ValueError, match="multiple of chunk_size"):
        statten.preset_trace("cifar10_2_256", chunk_size=3)
    with pytest.raises(ValueError, match="pooling_stat"):
        statten.preset_trace("cifar10_2_256", pooling_stat="001")
    with pytest.raises(KeyError, match="unknown STAtten preset"):
        statten.preset_trace("cifar10_3_256")


def test_simulates_on_loas(repo):
    """The whole CIFAR-256 network on the cycle-level LoAS: the spike x spike K^T V products run
    as AND-popcount pairs (tppe and_op parts), and the MAC count is the trace's."""
    tr = statten.preset_trace("cifar10_2_256")
    r = simulate(tr, repo / "hw_configs/loas.yaml")
    ops = r.ops.set_index("op_id")
    assert ops.loc["b0.attn.kv.c0", "spike_spike_ones"] > 0
    assert r["macs"] == sum(o.macs * o.timesteps for o in tr.ops)
