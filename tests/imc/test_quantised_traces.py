"""The imc model on quantised traces: weight bits from the trace, dequantisation on the digital
unit, a KV cache kept in the crossbars during decode."""
import pytest

from archsim.arch.quant_cost import total_dequant_ops
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.generators.shapes.llm import LlmShape, llm_trace

SMALL = LlmShape("small", layers=2, dim=256, heads=4, kv_heads=4, ffn=512, vocab=1000)


def _hw(repo, **over):
    return load_hardware(repo / "hw_configs/clipformer_rram_32nm.yaml",
                         overrides={"params.weight_bits": None, "params.input_bits": None, **over})


def test_weight_bits_from_the_trace(repo):
    """64x64 crossbars of 2-bit cells, offset encoding: a 2-bit weight takes 1 column, a 4-bit one
    2, the FP16 head 8. q (256 x 256): 4 row blocks x ceil(256 * cpw / 64) column blocks."""
    per = {}
    for fmt in ("w2a16g128", "w4a16g128"):
        r = simulate(llm_trace(SMALL, fmt, phase="decode", context=64), _hw(repo))
        ops = r.ops.set_index("op_id")
        per[fmt] = ops.loc["L0.q", "crossbars"]
        assert ops.loc["lm_head", "crossbars"] == 4 * (1000 * 8 // 64)        # 8000 columns: 125 blocks
    assert per["w2a16g128"] == 4 * 4 and per["w4a16g128"] == 4 * 8


def test_dequantisation_on_the_digital_unit(repo):
    t = llm_trace(SMALL, "w2a16g128", phase="decode", context=64)
    r = simulate(t, _hw(repo))
    ops = r.ops.set_index("op_id")
    q = t.op("L1.down")
    # 1 token, K = 512 (4 groups of 128), N = 256: scale 1024, group adds 768, zero 1024, input sums 512
    assert total_dequant_ops(q) == 1024 + 768 + 1024 + 512
    assert ops.loc["L1.down", "dequant_ops"] == total_dequant_ops(q)
    assert ops.loc["L1.down", "dequant_cycles"] == -(-3328 // 64)
    digital = r.actions[(r.actions.op_id == "L1.down") & (r.actions.component == "digital")]["count"].sum()
    assert digital == 3328
    fp = simulate(llm_trace(SMALL, "fp16", phase="decode", context=64), _hw(repo)).ops.set_index("op_id")
    assert fp.loc["L1.down", "dequant_ops"] == 0


def test_kv_cache_written_once_per_token(repo):
    """Decode: K^T [4 heads, 64, C] at 16 bits (8 cells each) is mapped whole but only its new
    column (1 / C of the cells) is written per step; prefill writes it all."""
    C = 128
    dec = simulate(llm_trace(SMALL, "w4a16", phase="decode", context=C), _hw(repo)).ops.set_index("op_id")
    pre = simulate(llm_trace(SMALL, "w4a16", phase="prefill", context=C), _hw(repo)).ops.set_index("op_id")
    cells = 4 * 64 * C * 8
    assert dec.loc["L0.qk", "cells_used"] == cells == pre.loc["L0.qk", "cells_used"]
    assert dec.loc["L0.qk", "cells_written"] == pytest.approx(cells / C)
    assert pre.loc["L0.qk", "cells_written"] == cells
