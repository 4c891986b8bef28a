"""Dequantisation counts and metadata bits of GEMM ops (archsim.arch.quant_cost)."""
from archsim.arch.quant_cost import dequant_ops, metadata_bits, total_dequant_ops
from archsim.trace.schema import Quant, Role
from archsim.generators.shapes.llm import llm_trace
from tests.helpers import builder


def _linear(tokens, k, n, wq, aq=None, w_bits=2, a_bits=16):
    b = builder()
    x = b.operand("input", Role.activation, shape=[tokens, k], bits=a_bits, dtype="uint" if aq else "float", quant=aq)
    w = b.operand("weight", Role.static_weight, shape=[n, k], bits=w_bits, dtype="uint", quant=wq)
    b.add("linear", "fc", tokens=tokens, in_features=k, out_features=n, operands=[x, w])
    return b.build().op("fc")


def test_group_asymmetric_weight_only():
    """M=3 tokens, K=300 (3 groups of 128, the last partial), N=5 outputs, 2-bit weights with
    16-bit scales and 2-bit zeros: scale products 3*5*3 = 45, group adds 3*5*2 = 30, zero-point
    products 45, input group sums 3*300 = 900; metadata 5 rows * 3 groups * 18 bits = 270."""
    op = _linear(3, 300, 5, Quant(granularity="group", group_size=128, symmetric=False, zero_point_bits=2))
    assert dequant_ops(op) == {"scale_mul": 45, "group_accumulate": 30, "zero_point_mul": 45,
                               "input_group_sum": 900}
    assert metadata_bits(op) == 270 and total_dequant_ops(op) == 1020


def test_per_channel_symmetric_and_unquantised():
    op = _linear(4, 64, 8, Quant(granularity="channel", symmetric=True))
    assert dequant_ops(op) == {"scale_mul": 32} and metadata_bits(op) == 8 * 16
    assert dequant_ops(_linear(4, 64, 8, None, w_bits=16)) == {} and metadata_bits(_linear(4, 64, 8, None)) == 0


def test_w4a4_per_token_activations():
    """Per-channel asymmetric W4 and per-token asymmetric A4: per output element one weight-scale,
    one weight-zero, one activation-scale and one activation-zero product; code row sums (one
    16-bit value per output row) join the metadata."""
    aq = Quant(granularity="token", dynamic=True, symmetric=False, zero_point_bits=4)
    op = _linear(2, 64, 8, Quant(granularity="channel", symmetric=False, zero_point_bits=4), aq, 4, 4)
    assert dequant_ops(op) == {"scale_mul": 16, "zero_point_mul": 16, "input_group_sum": 128,
                               "act_scale_mul": 16, "act_zero_point_mul": 16}
    assert metadata_bits(op) == 8 * 20 + 8 * 16


def test_llama_decode_totals():
    """LLaMA-2-7B W2 g128 decode, one token: scale products = sum over linears of N*K/128 = weights/128."""
    t = llm_trace("llama2_7b", "w2a16g128", phase="decode", context=8)
    linears = [op for op in t.ops if op.kind == "linear" and "layer" in op.tags]
    total = sum(dequant_ops(op).get("scale_mul", 0) for op in linears)
    assert total == 6_476_005_376 / 128
    assert dequant_ops(t.op("lm_head")) == {} and dequant_ops(t.op("L0.qk")) == {}
