"""The systolic model on quantised operands: metadata traffic, dequantisation on the vector unit,
multiplier work scaling with the bits."""
import pytest

from archsim.arch.quant_cost import total_dequant_ops
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.errors import UnsupportedOpError
from archsim.trace.schema import Quant, Role
from tests.helpers import builder

GROUP = Quant(granularity="group", group_size=128, symmetric=False, scale_bits=16, zero_point_bits=2)


def _trace(w_bits, quant, tokens=1, k=512, n=256):
    b = builder()
    x = b.operand("input", Role.activation, shape=[tokens, k], bits=16, dtype="float")
    w = b.operand("weight", Role.static_weight, shape=[n, k], bits=w_bits, dtype="uint" if quant else "float",
                  quant=quant)
    b.add("linear", "fc", tokens=tokens, in_features=k, out_features=n, operands=[x, w])
    return b.build()


def _hw(repo, **over):
    return load_hardware(repo / "hw_configs/systolic_tpu_like_32x32.yaml",
                         overrides={"params.pe_input_bits": 16, "params.pe_weight_bits": 16,
                                    "params.output_bits": 16, "params.dataflow": "is", **over})


def test_weights_and_metadata_fetched_once(repo):
    """512 x 256 weights fit the 64 KiB filter buffer's active half at 2 bits (32 KiB): fetched
    once. W2 g128: 131,072 x 2 bits + 256 rows x 4 groups x (16 + 2) bits = 262,144 + 18,432 bits."""
    r = simulate(_trace(2, GROUP), _hw(repo))
    ops = r.ops.set_index("op_id")
    assert ops.loc["fc", "dram_weight_read_bytes"] == (262_144 + 18_432) / 8
    fp = simulate(_trace(16, None), _hw(repo, **{"variables.FILTER_KIB": 1024})).ops.set_index("op_id")
    assert fp.loc["fc", "dram_weight_read_bytes"] == 131_072 * 2


def test_dequantisation_on_the_vector_unit(repo):
    t = _trace(2, GROUP, tokens=3)
    r = simulate(t, _hw(repo))
    acts = r.actions[(r.actions.op_id == "fc") & (r.actions.component == "vector")]
    # M 3, N 256, 4 groups: scales 3072 + group adds 2304 + zeros 3072 + input sums 1536
    assert total_dequant_ops(t.op("fc")) == 3072 + 2304 + 3072 + 1536
    assert acts["count"].sum() == 9984
    assert r.ops.set_index("op_id").loc["fc", "dequant_cycles"] == -(-9984 // 32)
    with pytest.raises(UnsupportedOpError, match="vector unit"):
        simulate(t, _hw(repo, **{"params.vector_lanes": None}))


def test_multiplier_work_scales_with_weight_bits(repo):
    """bit products = MACs x input bits x weight bits: FP16 x W2 is 1/8 of FP16 x FP16."""
    def bit_products(w_bits, quant):
        r = simulate(_trace(w_bits, quant), _hw(repo, **{"variables.FILTER_KIB": 1024}))
        a = r.actions
        return a[(a.component == "multiplier")]["count"].sum()
    assert bit_products(2, GROUP) == 512 * 256 * 16 * 2
    assert bit_products(16, None) == 8 * bit_products(2, GROUP)
