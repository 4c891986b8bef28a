"""Shape-only transformer traces: TReX attention reuse, LV-ViT-S's convolutional stem, BERT-Base;
the reuse patterns; what reuse removes from the crossbar cost."""
import pytest

from archsim.engine import simulate
from archsim.trace.io import load_trace
from archsim.generators.shapes.reuse import check_reuse, pyramid_runs, reuse_pattern
from archsim.generators.shapes.transformers import bert_trace, main, parse_reuse, preset_trace, vit_trace

ATTENTION = (".ln1", ".qkv", ".qk", ".softmax", ".av", ".proj")


def macs(trace):
    return sum(op.macs for op in trace.ops)


def encoder_ops(trace, i):
    return {op.id[len(f"e{i}"):]: op for op in trace.ops if op.id.startswith(f"e{i}.")}


def test_reuse_patterns_by_hand():
    assert reuse_pattern("strided", 12, 6) == {1: 0, 3: 2, 5: 4, 7: 6, 9: 8, 11: 10}
    assert reuse_pattern("strided", 12, 4) == {2: 1, 5: 4, 8: 7, 11: 10}           # stride 3
    assert reuse_pattern("continuous", 12, 3) == {9: 8, 10: 8, 11: 8}
    # pyramid of 6: runs 1, 2, 3 toward the end, one computing encoder before each
    assert reuse_pattern("pyramid", 12, 6) == {4: 3, 6: 5, 7: 5, 9: 8, 10: 8, 11: 8}
    assert pyramid_runs(5) == [2, 3] and pyramid_runs(4) == [1, 3] and pyramid_runs(7) == [1, 2, 4]
    assert sum(pyramid_runs(20)) == 20
    assert reuse_pattern("list", 8, encoders=[3, 4, 6]) == {3: 2, 4: 2, 6: 5}
    assert reuse_pattern("continuous", 12, 0) == {}


@pytest.mark.parametrize("kind,layers,n,match", [
    ("strided", 12, 7, "n <= layers // 2"), ("continuous", 12, 12, "0 <= n < layers"),
    ("pyramid", 8, 6, "needs 9 encoders"), ("diagonal", 12, 2, "unknown reuse pattern"),
    ("list", 8, 0, "needs encoders"),
])
def test_reuse_pattern_errors(kind, layers, n, match):
    with pytest.raises(ValueError, match=match):
        reuse_pattern(kind, layers, n)


def test_reuse_map_errors():
    with pytest.raises(ValueError, match="cannot reuse attention"):
        reuse_pattern("list", 8, encoders=[0])
    with pytest.raises(ValueError, match="out of range"):
        check_reuse({8: 1}, 8)
    with pytest.raises(ValueError, match="earlier encoder"):
        check_reuse({3: 5}, 8)
    with pytest.raises(ValueError, match="reuses attention itself"):
        check_reuse({3: 2, 4: 3}, 8)
    with pytest.raises(ValueError, match="KIND:N"):
        parse_reuse("strided:x", 12)


def test_reuse_encoder_has_no_attention_and_has_the_transformation_block():
    """Encoder 3 reuses encoder 2: no LayerNorm-1, QKV, Q.K^T, softmax, A.V, projection and no
    dynamic (written) operand; LayerNorm -> 384x384 linear -> GELU reading e2.av instead."""
    t = preset_trace("deit_s", reuse={3: 2})
    ops = encoder_ops(t, 3)
    assert not any(k in ops for k in ATTENTION)
    assert not any(o.role.value == "dynamic_weight" for op in ops.values() for o in op.operands)
    assert [ops[k].kind for k in (".tb.ln", ".tb.fc", ".tb.gelu")] == ["layernorm", "linear", "gelu"]
    assert ops[".tb.ln"].inputs == ["e2.av"] and ops[".tb.ln"].tags["reuse_source"] == 2
    fc = ops[".tb.fc"]
    assert (fc.tokens, fc.in_features, fc.out_features) == (197, 384, 384)
    assert fc.operand("weight").role.value == "static_weight"
    assert ops[".res1"].inputs == ["e3.tb.gelu", "e2.res2"]
    assert {".ln2", ".fc1", ".gelu", ".fc2", ".res2"} <= set(ops)           # the MLP stays
    assert all(k in encoder_ops(t, 2) for k in ATTENTION)                    # the source computes
    # per reuse encoder: QKV + Q.K^T + A.V (a D x D projection is replaced by the D x D TB)
    assert macs(preset_trace("deit_s")) - macs(t) == 197 * 384 * 1152 + 2 * 6 * 197 * 64 * 197
    assert t.header.config["reuse"] == {"3": 2}


def test_lvvit_s_macs_by_hand():
    """Stem: conv1 112^2 x 64 x 3*49, conv2/conv3 112^2 x 64 x 576, proj 196 x 384 x 64*64;
    16 encoders of 197 tokens, D 384, MLP 1152: 3 x 197x384x1152 + 2 x 6x197x64x197 + 197x384^2;
    heads: class token 384x1000 and the token-labelling head 196 x 384 x 1000.
    6.55 G: LV-ViT-S's published 6.6 GFLOPs (multiply-accumulates)."""
    stem = 12544 * 64 * 147 + 2 * 12544 * 64 * 576 + 196 * 384 * 4096
    enc = 3 * 197 * 384 * 1152 + 2 * 6 * 197 * 64 * 197 + 197 * 384 * 384
    t = preset_trace("lvvit_s")
    assert macs(t) == stem + 16 * enc + 384 * 1000 + 196 * 384 * 1000 == 6_551_485_440
    conv1 = t.op("stem.conv1")
    assert (conv1.out_h, conv1.kernel_h, conv1.stride_h) == (112, 7, 2) and conv1.tags["imc.conv_mapping"] == "unrolled"
    assert (t.op("embed").kernel_h, t.op("embed").out_h) == (8, 14)
    assert "No pretrained weights" in t.header.provenance.notes


def test_bert_base_macs_by_hand():
    """BERT-Base at 128 tokens: 12 x (3 x 128x768x768 + 2 x 12x128x64x128 + 128x768^2 + 2 x
    128x768x3072) + pooler 768^2 + classifier 768x2 = 11.17 GMAC; post-LN encoders."""
    enc = 4 * 128 * 768 * 768 + 2 * 12 * 128 * 64 * 128 + 2 * 128 * 768 * 3072
    t = bert_trace()
    assert macs(t) == 12 * enc + 768 * 768 + 768 * 2
    ops = encoder_ops(t, 0)
    assert ops[".qkv"].inputs == ["embed.ln"] and ops[".ln1"].inputs == ["e0.res1"]
    assert ops[".res2"].inputs == ["e0.fc2", "e0.ln1"] and t.op("pooler.fc").inputs == ["e11.ln2"]
    assert macs(bert_trace(seq_len=64)) < macs(t)
    r = bert_trace(reuse={5: 4})
    assert ".qkv" not in encoder_ops(r, 5) and encoder_ops(r, 5)[".ln1"].inputs == ["e5.res1"]


def test_cells_written_drop_by_the_reused_share(repo):
    """K^T and V are written only by encoders that compute attention: 6 of 12 reusing -> exactly
    half of DeiT-S's 7,262,208 cells per image; crossbars drop by 6 x (1728 + 174 - 144)."""
    hw = repo / "hw_configs/trex_fefet_32nm.yaml"
    base = simulate(preset_trace("deit_s"), hw)
    for kind in ("strided", "continuous", "pyramid"):
        r = simulate(preset_trace("deit_s", reuse=reuse_pattern(kind, 12, 6)), hw)
        assert r["metrics"]["cells_written"] == base["metrics"]["cells_written"] * 6 / 12 == 3_631_104
        assert base["metrics"]["crossbars"] - r["metrics"]["crossbars"] == 6 * (576 + 174 - 144)
    lv = simulate(preset_trace("lvvit_s"), hw)
    lv7 = simulate(preset_trace("lvvit_s", reuse=reuse_pattern("strided", 16, 7)), hw)
    assert lv7["metrics"]["cells_written"] == lv["metrics"]["cells_written"] * 9 / 16


def test_small_vit_and_cli(tmp_path):
    t = vit_trace(layers=8, dim=64, heads=4, mlp_ratio=2, image=28, patch=4, in_chans=1, classes=10,
                  reuse=reuse_pattern("pyramid", 8, 3))
    assert t.op("e0.qk").N == 50 and "e4.tb.fc" in {op.id for op in t.ops}
    assert main(["deit_s", "--reuse", "continuous:2", "-o", str(tmp_path / "d.trace")]) == 0
    assert load_trace(tmp_path / "d.trace").header.config["reuse"] == {"10": 9, "11": 9}
    with pytest.raises(SystemExit):
        main(["deit_s", "--reuse", "strided:9", "-o", str(tmp_path / "e.trace")])
    assert not (tmp_path / "e.trace").exists()
