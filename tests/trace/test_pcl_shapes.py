"""Prompt-based continual-learning shape traces (archsim.generators.shapes.pcl) and the ViT
generator's prompt extension."""
import pytest

from archsim.trace.io import load_trace
from archsim.generators.shapes.pcl import pcl_trace
from archsim.generators.shapes.transformers import vit_trace

# ViT-B/16 by hand: embed 196 x 768 x 768; per encoder qkv 197 x 768 x 2304, QK^T and AV
# 12 x 197 x 64 x 197 each, proj 197 x 768^2, MLP 2 x 197 x 768 x 3072; head 768 x 1000.
EMBED = 196 * 768 * 768
ENC = 197 * 768 * 2304 + 2 * 12 * 197 * 64 * 197 + 197 * 768 * 768 + 2 * 197 * 768 * 3072
HEAD = 768 * 1000
PROMPT = (2 * 768 + 8 * 768) * 100          # similarity, norms, composition per prompted encoder
PREFIX = 2 * 12 * 197 * 64 * 4              # 4 extra keys in QK^T and 4 extra values in AV


def macs(trace):
    return sum(op.macs for op in trace.ops)


def test_vit_b16_macs_by_hand():
    assert macs(vit_trace(layers=12, dim=768, heads=12)) == EMBED + 12 * ENC + HEAD


@pytest.mark.paper
def test_one_stage_halves_the_compute():
    """OS-Prompt (arXiv 2402.16189, research note 2.5): ~35.1 GMAC two-stage vs ~17.6 GMAC one-stage."""
    one, two = macs(pcl_trace("one_stage")), macs(pcl_trace("two_stage"))
    assert one == EMBED + 12 * ENC + HEAD + 5 * (PROMPT + PREFIX)
    assert two == one + EMBED + 12 * ENC              # the query ViT: no classifier
    assert one / 1e9 == pytest.approx(17.6, rel=0.01)
    assert two / 1e9 == pytest.approx(35.1, rel=0.01)
    assert two / one == pytest.approx(2.0, rel=0.01)


def test_prompt_structure():
    one = pcl_trace("one_stage")
    # prefix prompts: 197 queries attend to 201 keys in encoders 0-4 only
    assert one.op("e0.qk").N == 201 and one.op("e4.av").K == 201 and one.op("e5.qk").N == 197
    assert one.op("e0.qk").operand("b").shape == [12, 64, 201]
    # one-stage: encoder l's composition reads encoder l's input (a serial dependency)
    assert one.op("p0.sim").inputs == ["embed"] and one.op("p3.sim").inputs == ["e2.res2"]
    assert "p3.compose" in one.op("e3.qk").inputs and "p3.compose" in one.op("e3.av").inputs
    assert not any(op.id.startswith("query.") for op in one.ops)
    two = pcl_trace("two_stage")
    assert two.op("p0.sim").inputs == ["query.head.ln"] and two.op("p4.sim").inputs == ["query.head.ln"]
    assert sum(op.id.startswith("query.e") and op.id.endswith(".qkv") for op in two.ops) == 12
    # the query-pool regularisation loss is training-only: nothing of it in either trace
    for t in (one, two):
        assert not any("qr" in op.id or op.tags.get("block") == "loss" for op in t.ops)
    assert one.op("p2.compose").out_features == 8 * 768 and one.op("p2.compose").operand("weight").shape == [6144, 100]


def test_small_config_and_round_trip(tmp_path):
    vit = dict(layers=4, dim=64, heads=4, mlp_ratio=2, image=28, patch=4, in_chans=1, classes=10)
    t = pcl_trace("two_stage", vit=vit, prompt_layers=(0, 1, 2), pool=10, prompt_length=8)
    t.save(tmp_path / "p.trace")
    back = load_trace(tmp_path / "p.trace")
    assert back.header.config["pool"] == 10 and back.op("e1.qk").N == 50 + 4
    with pytest.raises(ValueError, match="mode"):
        pcl_trace("three_stage")
    with pytest.raises(ValueError, match="prompt_layers"):
        pcl_trace("one_stage", prompt_layers=(12,))
    with pytest.raises(ValueError, match="even"):
        pcl_trace("one_stage", prompt_length=7)
