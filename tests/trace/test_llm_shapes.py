"""LLaMA decoder shape traces (archsim.generators.shapes.llm) and quantisation metadata
(archsim.trace.quant)."""
import math

import pytest

from archsim.errors import TraceError
from archsim.trace.io import load_trace
from archsim.trace.quant import metadata_bits, quant_groups, reduction_groups, stored_bits
from archsim.trace.schema import Operand, Quant, Role
from archsim.generators.shapes.llm import (SHAPES, LlmShape, llm_trace, parse_format, weight_footprint_bytes)

GB = 1e9


@pytest.mark.paper
@pytest.mark.parametrize("fmt, published_gb", [("fp16", 13.48), ("w2a16g128", 2.26), ("w4a16", 3.76)])
def test_llama2_7b_footprints(fmt, published_gb):
    """The issue's figures (research note 2.1): FP16 13.48 GB, W2 g128 2.26 GB, W4 per-channel
    3.76 GB, with the FP16 embedding and head, within 1 %."""
    t = llm_trace("llama2_7b", fmt, phase="decode", context=2048)
    fp = weight_footprint_bytes(t)
    assert fp["total"] / GB == pytest.approx(published_gb, rel=0.01)
    assert t.header.metrics["weight_footprint_gb"] == fp["total"] / GB


def test_llama2_7b_footprint_by_hand():
    """Independent arithmetic. Block linears: 32 x (4 x 4096^2 + 3 x 4096 x 11008) = 6,476,005,376
    weights; embedding and head 32000 x 4096 = 131,072,000 each (FP16).
    W2 g128: 2 bits/weight + (16-bit scale + 2-bit zero point) per 128 weights."""
    n_lin = 32 * (4 * 4096 ** 2 + 3 * 4096 * 11008)
    assert SHAPES["llama2_7b"].block_linear_params() == n_lin == 6_476_005_376
    emb = 32000 * 4096 * 2
    fp16 = weight_footprint_bytes(llm_trace("llama2_7b", "fp16", phase="decode", context=16))
    assert fp16["linears"] == n_lin * 2 and fp16["embedding"] == emb and fp16["head"] == emb
    w2 = weight_footprint_bytes(llm_trace("llama2_7b", "w2a16g128", phase="prefill", context=16))
    assert w2["metadata"] == n_lin / 128 * 18 / 8
    assert w2["total"] == n_lin * 2 / 8 + n_lin / 128 * 18 / 8 + 2 * emb
    # per-channel W4: one (scale, 4-bit zero) per output row: rows = 32 x (4 x 4096 + 2 x 11008 + 4096)
    w4 = weight_footprint_bytes(llm_trace("llama2_7b", "w4a16", phase="decode", context=16))
    rows = 32 * (4 * 4096 + 2 * 11008 + 4096)
    assert w4["metadata"] == rows * 20 / 8


def test_tied_embedding_counted_once():
    s = SHAPES["smollm2_135m"]
    fp = weight_footprint_bytes(llm_trace(s, "fp16", phase="decode", context=8))
    assert fp["embedding"] == 0 and fp["head"] == s.vocab * s.dim * 2
    # 134.5 M parameters (research note, measured) less the norm gains (61 x 576)
    assert fp["total"] / 2 == pytest.approx(134.5e6 - 61 * 576, rel=0.002)


def test_decode_macs_and_kv_operands():
    """Decode of one token at context C: 6.476 G linear MACs + head 131 M + attention
    2 x 32 layers x C x 4096."""
    C = 1000
    t = llm_trace("llama2_7b", "w2a16g128", phase="decode", context=C)
    macs = sum(op.macs for op in t.ops)
    assert macs == 6_476_005_376 + 131_072_000 + 2 * 32 * C * 4096
    qk = t.op("L5.qk")
    assert qk.tags == {"phase": "decode", "layer": 5, "block": "attn", "kv_cache": True, "operand": "k_t",
                       "context": C, "cache_new_tokens": 1, "causal": False}
    kt = qk.operand("b")
    assert kt.role == Role.dynamic_weight and kt.shape == [32, 128, C] and kt.bits == 16
    assert t.op("L5.k_cache").output.shape == [1, 32, 1, 128]
    q = t.op("L0.q").operand("weight")
    assert q.bits == 2 and q.quant.granularity == "group" and q.quant.group_size == 128
    assert not q.quant.symmetric and q.quant.zero_point_bits == 2 and q.quant.scale_bits == 16
    assert t.op("lm_head").operand("weight").bits == 16


def test_gqa_reads_each_kv_head_once():
    s = SHAPES["smollm2_135m"]     # 9 query heads share 3 KV heads of 64
    t = llm_trace(s, "w4a16g128", phase="prefill", context=10, batch=2)
    qk = t.op("L0.qk")
    assert (qk.batch, qk.M, qk.K, qk.N) == (2 * 3, 3 * 10, 64, 10)
    assert qk.operand("b").numel == 2 * 3 * 64 * 10      # the cache of 3 KV heads, not 9
    assert qk.macs == 2 * 9 * 10 * 10 * 64                # = batch x heads x queries x keys x head_dim
    assert t.op("L0.k").out_features == 192 and t.op("lm_head").tokens == 2


def test_w4a4_dynamic_activation_quantisation():
    t = llm_trace("llama2_7b", "w4a4", phase="decode", context=4)
    ids = [op.id for op in t.ops if op.tags.get("layer") == 0]
    # one reduction + quantize before the shared q/k/v input, o, gate/up and down
    for prefix, feats in (("attn_in", 4096), ("o_in", 4096), ("mlp_in", 4096), ("down_in", 11008)):
        mm, qz = t.op(f"L0.{prefix}.minmax"), t.op(f"L0.{prefix}.quantize")
        assert mm.function == "token_minmax" and mm.elements == feats
        assert qz.output.bits == 4 and qz.output.quant.dynamic and qz.output.quant.granularity == "token"
    assert ids.index("L0.attn_in.quantize") < ids.index("L0.q")
    x = t.op("L0.down").operand("input")
    assert x.bits == 4 and x.quant.dynamic and x.shape == [1, 11008]
    assert t.op("L0.qk").operand("a").bits == 16          # attention stays FP16
    assert t.op("lm_head").operand("input").bits == 16
    assert not any(op.id.endswith("minmax") for op in llm_trace("llama2_7b", "w4a16", context=4).ops)


def test_histograms_attach_and_round_trip(tmp_path):
    from archsim.trace.schema import Histogram
    s = LlmShape("tiny", layers=2, dim=8, heads=2, kv_heads=1, ffn=16, vocab=32, tied_embeddings=True)
    h = Histogram(edges=[0, 1, 2, 3, 4], counts=[5, 20, 30, 9])
    t = llm_trace(s, "w2a16", phase="decode", context=3, histograms={"L1.up": h})
    path = tmp_path / "tiny.trace"
    t.save(path)
    back = load_trace(path)
    assert back.op("L1.up").operand("weight").histogram == h
    assert back.op("L1.down").operand("weight").histogram is None
    with pytest.raises(TraceError, match="unknown linear ops"):
        llm_trace(s, "w2a16", histograms={"L9.up": h})


@pytest.mark.parametrize("bad, message", [
    ("w2", "expected 'fp16'"), ("int4", "expected 'fp16'"), ("w16a16g128", "group size needs"),
    ("w0a16", "bits must be"), ("w2a16g0", "bits must be"),
])
def test_bad_formats(bad, message):
    with pytest.raises(TraceError, match=message):
        parse_format(bad)


def test_bad_arguments():
    with pytest.raises(TraceError, match="phase"):
        llm_trace("llama2_7b", phase="train")
    with pytest.raises(TraceError, match="context"):
        llm_trace("llama2_7b", context=0)
    with pytest.raises(TraceError, match="divide evenly"):
        llm_trace(LlmShape("odd", 1, 10, 3, 1, 4, 8))


def test_cli_writes_a_trace(tmp_path):
    from archsim.generators.shapes.llm import main
    out = tmp_path / "x.trace"
    assert main(["smollm2_135m", "--format", "w3a16g128", "--phase", "prefill", "--context", "16", "-o", str(out)]) == 0
    t = load_trace(out)
    assert t.header.config["format"] == "w3a16g128" and t.op("L29.down").operand("weight").bits == 3


def _op(shape, quant, bits=4):
    return Operand(name="w", role=Role.static_weight, shape=shape, bits=bits, dtype="uint", quant=quant)


def test_quant_metadata_by_granularity():
    grp = Quant(granularity="group", group_size=128, symmetric=False, scale_bits=16, zero_point_bits=4)
    # 300 inputs -> 3 groups per row (the last one partial)
    w = _op([10, 300], grp)
    assert quant_groups(w) == 30 and reduction_groups(w) == 3
    assert metadata_bits(w) == 30 * 20 and stored_bits(w) == 3000 * 4 + 600
    conv = _op([8, 3, 3, 3], grp)           # K = 27 per output channel: one group each
    assert quant_groups(conv) == 8
    ch = _op([10, 300], Quant(granularity="channel", scale_bits=16))   # symmetric: no zero point
    assert metadata_bits(ch) == 160 and reduction_groups(ch) == 1
    tok = Operand(name="x", role=Role.activation, shape=[2, 5, 64], bits=4, dtype="uint",
                  quant=Quant(granularity="token", dynamic=True, symmetric=False, zero_point_bits=4))
    assert quant_groups(tok) == 10 and metadata_bits(tok) == 200
    assert metadata_bits(_op([4, 4], None)) == 0 and stored_bits(_op([4, 4], None, bits=16)) == 256
    assert quant_groups(_op([4, 4], Quant(granularity="tensor"))) == 1
    assert math.isclose(stored_bits(_op([4096, 4096], Quant(granularity="group", group_size=128, symmetric=False,
                                                           zero_point_bits=2), bits=2)) / 4096 ** 2, 2 + 18 / 128)
