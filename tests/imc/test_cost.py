"""imc action counts, cycles and latency against hand computations on a tiny design."""
import pytest

from archsim.arch.imc.latency import schedule
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.trace.schema import DType, Role, Sparsity
from tests.helpers import builder

TABLE = """
name: unit
components:
  crossbar:
    actions: {read: {energy_pj: 1, source: test}, write_pulse: {energy_pj: 10, source: test},
              verify_read: {energy_pj: 3, source: test}}
    area_um2: {value: 100, source: test}
  adc: {actions: {convert: {energy_pj: "${ADC_BITS}", source: test}}, area_um2: {value: 10, source: test}}
  mux: {actions: {select: {energy_pj: 0.5, source: test}}, area_um2: {value: 1, source: test}}
  dac: {actions: {drive: {energy_pj: 0.01, source: test}}, area_um2: {value: 0.1, source: test}}
  shift_add: {actions: {add: {energy_pj: 0.2, source: test}}, area_um2: {value: 50, source: test}}
  psum_buffer: {actions: {access: {energy_pj: 0.1, source: test}}, area_um2: {value: 20, source: test}}
  tile_buffer: {actions: {read_vector: {energy_pj: 2, source: test}}, area_um2: {value: 0.5, source: test}}
  htree: {actions: {send_vector: {energy_pj: 4, source: test}}, area_um2: {value: 1000, source: test}}
  input_buffer: {actions: {read_vector: {energy_pj: 1, source: test}}, area_um2: {value: 0.25, source: test}}
  neuron: {actions: {update: {energy_pj: 0.3, source: test}}, area_um2: {value: 5, source: test}}
  membrane_memory: {area_um2: {value: 0.25, source: test}}
  digital: {actions: {op: {energy_pj: 0.4, source: test}}, area_um2: {value: 30, source: test}}
  tile: {area_um2: {value: 0, source: test}}
  pe: {area_um2: {value: 0, source: test}}
variables: {ADC_BITS: 4}
"""

HW = """
architecture: imc
name: tiny-imc
clock_mhz: 100
energy: {tables: [table.yaml], variables: {ADC_BITS: "${ADC}"}}
variables: {ADC: 4}
params:
  crossbar: {rows: 32, cols: 16, bits_per_cell: 2}
  weight_bits: 4
  dac_bits: 1
  adc: {bits: "${ADC}", cols_per_adc: 4}
  pe: {crossbars: 4, packing: dense, cycle_clocks: 10}
  tile: {pes: 2, buffer_bits: 100}
  write: {rows_per_step: 4, pulses: 1, verify_iterations: 1, pulse_clocks: 5, verify_clocks: 2, max_parallel_crossbars: 3}
  neuron: {lanes_per_layer: 64, update_clocks: 2}
  digital: {lanes: 16}
  buffers: {input_bits_per_element: 8}
"""


@pytest.fixture
def hw(tmp_path):
    (tmp_path / "table.yaml").write_text(TABLE)
    (tmp_path / "hw.yaml").write_text(HW)
    return lambda **over: load_hardware(tmp_path / "hw.yaml", overrides=over)


def linear_trace(density=1.0):
    b = builder()
    x = b.operand("input", Role.activation, shape=[3, 100], bits=6, sparsity=Sparsity(density=density))
    w = b.operand("weight", Role.static_weight, shape=[20, 100], bits=4)
    b.add("linear", "fc", operands=[x, w], tokens=3, in_features=100, out_features=20)
    return b.build()


def test_linear_by_hand(hw):
    """K 100, N 20, 4-bit weights on 2-bit cells -> 2 columns each, 40 columns; 32x16 crossbars:
    4 row blocks (32, 32, 32, 4) x 3 column blocks (16, 16, 8) = 12 crossbars, 3 PEs of 4.
    ADC lanes per crossbar 16/4 = 4: multiplexer steps 4 + 4 + 2 = 10 per row block -> 40
    crossbar reads per input plane; conversions 4 row blocks x 40 columns = 160; rows driven
    100 x 3 = 300. A 6-bit signed input takes 6 planes; 3 tokens -> 18 plane-vectors:
    reads 720, drives 5400, conversions 2880 (also mux, shift-add, psum), PE cycles 3 x 18 = 54
    (tile buffer, H-tree, input buffer). Cycles 3 x 6 x 10 = 180. Energy (pJ): 720 + 54 +
    2880 x (4 + 0.5 + 0.2 + 0.1) + 54 x (2 + 4 + 1) = 14,976."""
    r = simulate(linear_trace(), hw())
    acts = r.actions.set_index(["component", "action"])["count"]
    assert acts[("crossbar", "read")] == 720
    assert acts[("dac", "drive")] == 5400
    for c, a in (("adc", "convert"), ("mux", "select"), ("shift_add", "add"), ("psum_buffer", "access")):
        assert acts[(c, a)] == 2880
    for c, a in (("tile_buffer", "read_vector"), ("htree", "send_vector"), ("input_buffer", "read_vector")):
        assert acts[(c, a)] == 54
    assert r["cycles"] == 180
    assert r["energy_j"] == pytest.approx(14976e-12)
    ops = r.ops.iloc[0]
    assert (ops["crossbars"], ops["pes"], ops["input_planes"]) == (12, 3, 6)
    assert ops["utilization"] == pytest.approx(100 * 40 / (12 * 32 * 16))


def test_area_by_hand(hw):
    """3 PEs -> 2 tiles of 2 PEs = 4 PEs x 4 crossbars = 16 crossbars (1600 um2); ADCs 4 PEs x 4
    crossbars x 4 lanes = 64 (640) and muxes (64); drivers 16 x 32 (51.2); shift-add 4 x 50;
    psum 2 x 20; tile buffer 2 x 100 x 0.5; H-tree 2 x 1000; input buffer 300 x 8 x 0.25."""
    r = simulate(linear_trace(), hw())
    assert r["area_mm2"] * 1e6 == pytest.approx(1600 + 640 + 64 + 51.2 + 200 + 40 + 100 + 2000 + 600)


def test_activity_gating(hw):
    """With gating, crossbar reads and drivers scale with the input density (0.25); ADCs do not."""
    dense = simulate(linear_trace(0.25), hw())
    gated = simulate(linear_trace(0.25), hw(**{"params.activity_gating": True}))
    d = dense.actions.set_index(["component", "action"])["count"]
    g = gated.actions.set_index(["component", "action"])["count"]
    assert g[("crossbar", "read")] == 0.25 * d[("crossbar", "read")]
    assert g[("dac", "drive")] == 0.25 * d[("dac", "drive")]
    assert g[("adc", "convert")] == d[("adc", "convert")]


def test_adc_bits_reprice_through_table_variables(hw):
    """--set variables.ADC=6 reaches the table: every conversion costs 6 pJ instead of 4."""
    r4, r6 = simulate(linear_trace(), hw()), simulate(linear_trace(), hw(**{"variables.ADC": 6}))
    assert r6["energy_j_by_component"]["adc"] == pytest.approx(1.5 * r4["energy_j_by_component"]["adc"])


def dynamic_trace(T=1):
    b = builder(T=T)
    a = b.operand("a", Role.activation, shape=[2, 5, 40], bits=4, dtype=DType.uint)
    bb = b.operand("b", Role.dynamic_weight, shape=[2, 40, 10], bits=4)
    b.add("matmul", "av", operands=[a, bb], batch=2, M=5, K=40, N=10)
    return b.build()


def test_dynamic_writes_by_hand(hw):
    """Batch 2 of (5 x 40) @ (40 x 10): 20 columns per product -> 2 row blocks (32, 8) x 2 column
    blocks (16, 4) = 4 crossbars each, 8 in all. Written cells 2 x 40 x 20 = 1600, each 1 pulse +
    1 verify pulse = 3200 pulses; verify reads one per written row, 2 x 40 x 2 = 160. Write time:
    ceil(32/4) = 8 steps of 2 x 5 + 2 = 12 clocks, in ceil(8/3) = 3 waves = 288 cycles; compute
    5 vectors x 4 planes (unsigned 4-bit) x 10 = 200; T = 2 doubles all."""
    r = simulate(dynamic_trace(T=2), hw())
    acts = r.actions.set_index(["component", "action"])["count"]
    assert acts[("crossbar", "write_pulse")] == 2 * 3200
    assert acts[("crossbar", "verify_read")] == 2 * 160
    op = r.ops.iloc[0]
    assert op["cells_written"] == 2 * 1600
    assert op["write_cycles"] == 2 * 288 and op["compute_cycles"] == 2 * 200
    assert r["cycles"] == 2 * (288 + 200)


def test_neuron_energy_per_neuron_or_per_pe_cycle(hw):
    """LIF of 1000 neurons, T = 4, 64 lanes, 2 clocks: ceil(1000/64) x 2 x 4 = 128 cycles;
    4000 updates per neuron, or the producer's PE cycles with energy_per: pe_cycle."""
    b = builder(T=4)
    x = b.operand("input", Role.spike, shape=[1, 100], sparsity=Sparsity(density=0.1))
    b.add("linear", "fc", operands=[x], tokens=1, in_features=100, out_features=1000)
    b.add("lif", "lif", neurons=1000)
    trace = b.build()
    r = simulate(trace, hw())
    ops = r.ops.set_index("op_id")
    assert ops.loc["lif", "cycles"] == 128
    assert r.actions.set_index(["op_id", "action"]).loc[("lif", "update"), "count"] == 4000
    r2 = simulate(trace, hw(**{"params.neuron.energy_per": "pe_cycle"}))
    assert r2.actions.set_index(["op_id", "action"]).loc[("lif", "update"), "count"] == ops.loc["fc", "pe_cycles"]
    assert r["area_mm2_by_component"]["membrane_memory"] == pytest.approx(1000 * 16 * 0.25e-6)


def test_digital_ops(hw):
    """softmax 10 x 20: 200 elements x 5 ops = 1000 on 16 lanes -> 63 cycles, 400 pJ."""
    b = builder()
    b.add("softmax", "sm", rows=10, cols=20)
    r = simulate(b.build(), hw())
    assert r["cycles"] == 63
    assert r["energy_j_by_component"]["digital"] == pytest.approx(400e-12)


def test_pipeline_schedule_by_hand():
    """A (crossbar, 100) -> B (LIF, 300) -> C (crossbar, 50) -> D (matmul with a dynamic operand,
    40). Pipelined, f = 0.5: A [0, 100]; B runs with A: [0, 300]; C starts at 0.5 x 300: [150,
    300] (it cannot end before B); D waits for all of C: [300, 340]. Layer by layer: C starts at
    300 -> [300, 350], D [350, 390]."""
    b = builder()
    b.add("linear", "A", tokens=1, in_features=4, out_features=4)
    b.add("lif", "B", neurons=4)
    b.add("linear", "C", tokens=1, in_features=4, out_features=4)
    b.add("matmul", "D", M=1, K=1, N=4)
    ops = b.build().ops
    cycles = {"A": 100, "B": 300, "C": 50, "D": 40}
    t = schedule(ops, cycles, "pipelined", 0.5)
    assert t == {"A": (0, 100), "B": (0, 300), "C": (150, 300), "D": (300, 340)}
    t = schedule(ops, cycles, "layer_by_layer", 0.5)
    assert t["C"] == (300, 350) and t["D"] == (350, 390)
