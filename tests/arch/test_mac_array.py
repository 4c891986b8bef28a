"""The mac_array model and the engine against a hand computation."""
import pytest

from archsim.engine import simulate
from archsim.trace.schema import Role
from tests.config.test_config_errors import HW, TABLE
from tests.helpers import builder, hardware_loader


@pytest.fixture
def hw(tmp_path):
    return hardware_loader(tmp_path, TABLE, HW)


def linear_trace():
    b = builder(T=1)
    x = b.operand("input", Role.activation, shape=[4, 8], bits=8)
    w = b.operand("weight", Role.static_weight, shape=[6, 8], bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=4, in_features=8, out_features=6)
    return b.build()


def test_linear_by_hand(hw):
    """M=4, K=8, N=6 on a 2x4 array at 100 MHz, 1 GB/s (10 B/cycle):
    tiles ceil(4/2)=2 x ceil(6/4)=2; compute = 2*2*8 = 32 cycles.
    MACs 192 -> 192 pJ (1 pJ each).
    SRAM reads: inputs 2*4*8*8 = 512 b, weights 2*6*8*8 = 768 b, output drain 4*6*16 = 384 b -> 1664 b.
    SRAM writes: DRAM fill 4*8*8 + 6*8*8 = 640 b, outputs 384 b -> 1024 b.  (0.1 pJ/bit) -> 268.8 pJ
    DRAM: read 640 b, write 384 b (10 pJ/bit) -> 10240 pJ; 128 B -> 12.8 cycles < 32, no stall.
    Total 10700.8 pJ. Area: 8 MACs*100 + 2 lanes*10 + 8192 bits*0.5 = 4916 um2."""
    r = simulate(linear_trace(), hw())
    s = r.summary
    assert s["cycles"] == 32
    assert s["latency_s"] == pytest.approx(32 / 100e6)
    assert s["energy_j_by_component"]["mac"] == pytest.approx(192e-12)
    assert s["energy_j_by_component"]["sram"] == pytest.approx(268.8e-12)
    assert s["energy_j_by_component"]["dram"] == pytest.approx(10240e-12)
    assert s["energy_j"] == pytest.approx(10700.8e-12)
    assert s["area_mm2"] == pytest.approx(4916e-6)
    assert s["macs"] == 192 and s["ops"] == 384
    assert s["tops"] == pytest.approx(384 / 3.2e-7 / 1e12)
    assert s["tops_per_w"] == pytest.approx(384 / 10700.8e-12 / 1e12)
    assert s["tops_per_mm2"] == pytest.approx(s["tops"] / 4916e-6)
    assert s["edap_j_s_mm2"] == pytest.approx(10700.8e-12 * 3.2e-7 * 4916e-6)
    assert s["traffic_bytes_by_level"] == {"dram": 128.0, "sram": (1664 + 1024) / 8}
    assert r.ops.loc[0, "utilization"] == pytest.approx(192 / (8 * 32))


def test_memory_bound_stalls(hw):
    """At 0.1 GB/s (1 B/cycle) the 128 B of DRAM traffic take 128 cycles: 96 stall cycles."""
    r = simulate(linear_trace(), hw(**{"params.dram_bandwidth_gbps": 0.1}))
    assert r["cycles"] == pytest.approx(128)
    assert r.ops.loc[0, "stall_cycles"] == pytest.approx(96)


def test_spikes_accumulate_and_gating(hw):
    """A spike input turns MACs into accumulates (0.5 pJ); gating counts only nonzero inputs."""
    from archsim.trace.schema import Sparsity
    b = builder(T=2)
    x = b.operand("input", Role.spike, shape=[4, 8], sparsity=Sparsity(density=0.25))
    w = b.operand("weight", Role.static_weight, shape=[6, 8], bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=4, in_features=8, out_features=6)
    trace = b.build()
    dense = simulate(trace, hw())
    gated = simulate(trace, hw(**{"params.gate_zero_inputs": True}))
    assert dense["energy_j_by_component"]["mac"] == pytest.approx(384 * 0.5e-12)
    assert gated["energy_j_by_component"]["mac"] == pytest.approx(384 * 0.25 * 0.5e-12)
    assert dense["cycles"] == gated["cycles"] == 2 * 2 * 8 * 2


def test_vector_ops(hw):
    """softmax over 10 x 5: 50 elements * 5 ops / 2 lanes = 125 cycles; 250 vector ops = 250 pJ."""
    b = builder()
    b.add("softmax", "sm", rows=10, cols=5)
    r = simulate(b.build(), hw())
    assert r["cycles"] == 125
    assert r["energy_j_by_component"]["vector"] == pytest.approx(250e-12)


def test_deterministic(hw, tmp_path):
    a = simulate(linear_trace(), hw()).summary
    b = simulate(linear_trace(), hw()).summary
    assert a == b


def test_example_files_simulate(repo):
    from archsim.trace.layer_list import load_layer_list
    r = simulate(load_layer_list(repo / "examples/tiny_snn.yaml"), repo / "hw_configs/mac_array_example.yaml")
    assert r["cycles"] > 0 and r["energy_j"] > 0 and r["area_mm2"] > 0


def test_summary_only_equals_full(hw, repo):
    from archsim.trace.layer_list import load_layer_list
    trace = load_layer_list(repo / "examples/tiny_snn.yaml")
    full = simulate(trace, hw())
    brief = simulate(trace, hw(), details=False)
    assert brief.summary == full.summary
    assert brief.ops.empty and brief.actions.empty


def test_ops_per_element_override_and_unknown_kind(hw):
    """An override merges over the defaults; an unknown op kind is a config error."""
    from archsim.errors import ConfigError
    h = hw(**{"params.ops_per_element": {"softmax": 2.0}})
    assert h.params.ops_per_element["softmax"] == 2.0 and h.params.ops_per_element["gelu"] == 8.0
    with pytest.raises(ConfigError, match=r"params.ops_per_element: unknown op kind\(s\) \['sofmax'\]"):
        hw(**{"params.ops_per_element": {"sofmax": 2.0}})
