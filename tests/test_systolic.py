"""The systolic model against hand computations (cycles, SRAM/DRAM words, bits, stalls, energy)."""
import numpy as np
import pytest

from archsim.arch import systolic_math as sm
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.errors import ConfigError, UnsupportedOpError
from archsim.trace.layer_list import load_layer_list
from archsim.trace.schema import Role
from tests.helpers import builder, hardware_loader

TABLE = """
name: t
components:
  multiplier:
    actions: {bit_product: {energy_pj: 1.0, source: test}}
    area_um2: {value: 1.0, source: test}
  accumulator:
    actions: {add_bit: {energy_pj: 0.1, source: test}}
    area_um2: {value: 1.0, source: test}
  ifmap_sram: &sram
    actions:
      read_bit: {energy_pj: 0.01, source: test}
      write_bit: {energy_pj: 0.01, source: test}
    area_um2: {value: 0.5, source: test}
  filter_sram: *sram
  ofmap_sram: *sram
  dram:
    actions:
      read_bit: {energy_pj: 1.0, source: test}
      write_bit: {energy_pj: 1.0, source: test}
  vector:
    actions: {op: {energy_pj: 2.0, source: test}}
    area_um2: {value: 10, source: test}
"""

HW = """
architecture: systolic
name: sa
clock_mhz: 100
energy: {tables: [table.yaml]}
params:
  rows: 2
  cols: 2
  dataflow: ws
  ifmap_sram_kib: 1
  filter_sram_kib: 1
  ofmap_sram_kib: 1
"""


@pytest.fixture
def hw(tmp_path):
    return hardware_loader(tmp_path, TABLE, HW)


def linear(M=5, K=3, N=2, T=1, in_role=Role.activation, in_bits=8, w_bits=8):
    b = builder(T=T)
    x = b.operand("input", in_role, shape=[M, K], bits=1 if in_role == Role.spike else in_bits)
    w = b.operand("weight", Role.static_weight, shape=[N, K], bits=w_bits)
    b.add("linear", "fc", operands=[x, w], tokens=M, in_features=K, out_features=N)
    return b.build()


def test_gemm_equations_by_hand():
    """M=5, K=3, N=2 on a 2x2 array.
    WS: rows hold K=3, cols N=2, stream M=5: 2 row folds x 1 col fold; fold = 2*2+2+5-2 = 9;
        cycles 2*9-1 = 17; ifmap reads 1*5*3 = 15, filter 3*2 = 6, ofmap writes 2*5*2 = 20 (10 of
        them partial sums, read back once: 10).
    OS: rows M=5, cols N=2, stream K=3: 3 x 1 folds; fold = 2+2+3-2 = 5; cycles 14; ifmap 15,
        filter 3*3*2 = 18, ofmap 10, no partial sums.
    IS: rows K=3, cols M=5, stream N=2: 2 x 3 folds; fold = 4+2+2-2 = 6; cycles 35; ifmap 15,
        filter 3*3*2 = 18, ofmap 2*10 = 20, psum reads 10."""
    expect = {"ws": (17, 15, 6, 20, 10, 2), "os": (14, 15, 18, 10, 0, 3), "is": (35, 15, 18, 20, 10, 6)}
    for df, (cycles, ifr, flr, ofw, psr, folds) in expect.items():
        c = sm.gemm_costs(df, 2, 2, 5, 3, 2)
        got = tuple(int(c[k]) for k in ("cycles", "ifmap_sram_reads", "filter_sram_reads",
                                         "ofmap_sram_writes", "psum_sram_reads", "folds"))
        assert got == (cycles, ifr, flr, ofw, psr, folds), df
    # SCALE-Sim's OS ofmap count adds rows + cols per fold: 10 + 3 * 4
    assert sm.scalesim_ofmap_writes("os", 2, 2, 5, 3, 2) == 22
    assert sm.scalesim_ofmap_writes("ws", 2, 2, 5, 3, 2) == 20
    # WS mapping efficiency: 3*2 PEs of 2 folds * 4; compute util 3*2*5 / (2*4*(4+4+5-3))
    c = sm.gemm_costs("ws", 2, 2, 5, 3, 2)
    assert c["mapping_efficiency"] == pytest.approx(6 / 8)
    assert c["compute_utilization"] == pytest.approx(30 / 80)


def test_chunked_stream_by_hand():
    """WS, 5 streamed rows in 5 chunks: every chunk pays the fill/drain 2*2+2-2 = 4 again and
    reloads the weights: cycles = 2 * (5*4 + 5) - 1 = 49, filter reads 5 * 6 = 30."""
    c = sm.gemm_costs("ws", 2, 2, 5, 3, 2, chunks=5)
    assert int(c["cycles"]) == 49 and int(c["filter_sram_reads"]) == 30 and int(c["ifmap_sram_reads"]) == 15


def test_vectorised_over_layers_equals_one_by_one(rng):
    M, K, N = (rng.integers(1, 300, size=40) for _ in range(3))
    for df in sm.DATAFLOWS:
        table = sm.gemm_costs(df, 8, 16, M, K, N)
        for i in range(40):
            one = sm.gemm_costs(df, 8, 16, int(M[i]), int(K[i]), int(N[i]))
            assert all(one[k] == table[k][i] for k in one), (df, i)


def test_scalesim_output_size():
    """ceil((H - R + s) / s): 58, 3x3, stride 2 -> 29 (the usual formula gives 28)."""
    assert sm.conv_output_size_scalesim(58, 3, 2) == 29
    assert sm.conv_output_size_scalesim(57, 3, 2) == 28


def test_ws_layer_by_hand(hw):
    """The WS case above with 8-bit operands, 32-bit partial sums, 1 KiB buffers (4096 bits active):
    everything fits. DRAM reads 15 + 6 words = 168 bits, writes 10 outputs = 80 bits.
    SRAM bits: ifmap read 120, write 120; filter read 48, write 48; ofmap writes 10 partial sums
    * 32 + 10 outputs * 8 = 400, reads 10 partial sums * 32 + 10 * 8 (drain) = 400.
    Energy: 30 MACs * 64 bit-products * 1 pJ = 1920; 30 * 32 adder bits * 0.1 = 96;
    SRAM 1136 bits * 0.01 = 11.36; DRAM 248 bits * 1 = 248."""
    r = simulate(linear(), hw())
    op = r.ops.iloc[0]
    assert op.cycles == 17 and op.compute_cycles == 17 and op.stall_cycles == 0
    e = r["energy_j_by_component"]
    assert e["multiplier"] == pytest.approx(1920e-12)
    assert e["accumulator"] == pytest.approx(96e-12)
    assert e["ifmap_sram"] + e["filter_sram"] + e["ofmap_sram"] == pytest.approx(11.36e-12)
    assert e["ofmap_sram"] == pytest.approx(8e-12)
    assert e["dram"] == pytest.approx(248e-12)
    assert op["traffic_bytes.dram"] == 31 and op.dram_psum_spill_bytes == 0
    assert op.utilization == pytest.approx(30 / (4 * 17))
    assert r["instances"] == {"multiplier": 4 * 64, "accumulator": 4 * 32, "ifmap_sram": 8192,
                              "filter_sram": 8192, "ofmap_sram": 8192}


def test_dram_stalls(hw):
    """0.1 GB/s at 100 MHz = 1 byte per cycle: 31 bytes take 31 cycles > 17 compute -> 14 stalls."""
    op = simulate(linear(), hw(**{"params.dram_bandwidth_gbps": 0.1})).ops.iloc[0]
    assert op.cycles == 31 and op.stall_cycles == 14 and op.compute_cycles == 17


def test_psum_spill_and_tiling(hw):
    """A 24-byte ofmap buffer keeps 96 bits active; the 5 x 2 partial sums of 32 bits (320) do not
    fit. SCALE-Sim's schedule spills the 10 partial sums of the first row fold to DRAM and reads
    them back: 2 * 10 * 32 bits = 80 bytes more. Tiling instead cuts the 5 streamed rows into
    chunks of 96 // (2 * 32) = 1 row: 5 chunks, cycles 2 * (5 * 4 + 5) - 1 = 49, no spill."""
    small = {"params.ofmap_sram_kib": 24 / 1024}
    spill = simulate(linear(), hw(**small)).ops.iloc[0]
    assert spill.compute_cycles == 17 and spill.dram_psum_spill_bytes == 80
    assert spill["traffic_bytes.dram"] == 31 + 80
    tiled = simulate(linear(), hw(**small, **{"params.psum_tiling": True})).ops.iloc[0]
    assert tiled.compute_cycles == 49 and tiled.dram_psum_spill_bytes == 0
    assert tiled.filter_sram_reads == 30 and tiled["traffic_bytes.dram"] == 31


def test_refetch_when_the_ifmap_does_not_fit(hw):
    """WS, M=64, K=8, N=4 on 2x2 (2 column folds): the ifmap (512 words, 4096 bits) fits the
    active half of 1 KiB exactly and is read once; with 0.5 KiB (2048 bits) it streams from DRAM
    once per column fold: 1024 words."""
    t = linear(M=64, K=8, N=4)
    assert simulate(t, hw()).ops.iloc[0].dram_ifmap_read_bytes == 512
    assert simulate(t, hw(**{"params.ifmap_sram_kib": 0.5})).ops.iloc[0].dram_ifmap_read_bytes == 1024


def test_conv_ifmap_refetched_fold_by_fold(hw):
    """WS, 3x3 conv on 4 channels of 6x6 (pad 1), 4 filters, 2x2 array: M=36, K=36 (channel
    fastest), 18 row folds of 2 channels at one kernel position, 2 column folds. The input (144
    words) fits 1 KiB: read once. In 64 words (0.125 KiB) it does not, and a word comes back only
    with the next kernel position of its channel, two folds (the whole input) later: every fold
    fetches its 36 x 2 = 72 distinct words, 2 * 18 * 72 = 2592 (as many as the SRAM reads)."""
    b = builder()
    x = b.operand("input", Role.activation, shape=[1, 4, 6, 6], bits=8)
    w = b.operand("weight", Role.static_weight, shape=[4, 4, 3, 3], bits=8)
    b.add("conv2d", "c", operands=[x, w], in_channels=4, out_channels=4, in_h=6, in_w=6,
          kernel_h=3, kernel_w=3, pad_h=1, pad_w=1)
    t = b.build()
    assert simulate(t, hw()).ops.iloc[0].dram_ifmap_read_bytes == 144
    op = simulate(t, hw(**{"params.ifmap_sram_kib": 0.125})).ops.iloc[0]
    assert op.dram_ifmap_read_bytes == 2592 == op.ifmap_sram_reads


def test_weight_bits_scale_traffic_and_multiplier_energy(hw):
    """A W2 weight moves a quarter of the bytes of a W8 weight and drives a quarter of the
    partial products; cycles do not change."""
    w8 = simulate(linear(M=64, K=32, N=16, w_bits=8), hw())
    w2 = simulate(linear(M=64, K=32, N=16, w_bits=2), hw())
    assert w8.ops.iloc[0].dram_filter_read_bytes == 4 * w2.ops.iloc[0].dram_filter_read_bytes == 512
    assert w8["energy_j_by_component"]["multiplier"] == pytest.approx(4 * w2["energy_j_by_component"]["multiplier"])
    assert w8["cycles"] == w2["cycles"]


def test_timesteps_share_static_weights(hw):
    """T=4 spike inputs with a static weight stream together: M = 5 * 4 = 20 rows, WS cycles
    2 * (4 + 2 + 20 - 2) - 1 = 47. A 1-bit spike times an 8-bit weight is 8 bit-products."""
    r = simulate(linear(T=4, in_role=Role.spike), hw())
    assert r["cycles"] == 47
    assert r["energy_j_by_component"]["multiplier"] == pytest.approx(5 * 3 * 2 * 4 * 8 * 1e-12)


def test_dynamic_weights_run_per_timestep(hw):
    """A matmul whose B is produced at run time (T=2, 3 heads): 6 separate 5x3x2 products,
    each 17 cycles (WS) -> 102."""
    b = builder(T=2)
    a = b.operand("a", Role.activation, shape=[3, 5, 3], bits=8)
    bb = b.operand("b", Role.dynamic_weight, shape=[3, 3, 2], bits=8)
    b.add("matmul", "qk", operands=[a, bb], batch=3, M=5, K=3, N=2)
    assert simulate(b.build(), hw())["cycles"] == 6 * 17


def test_depthwise_groups_run_one_after_another(hw):
    """A 3x3 depthwise conv on 4 channels of 6x6 (pad 1): 4 groups of M=36, K=9, N=1.
    WS on 2x2: 5 row folds x 1 col fold, fold 2*2+2+36-2 = 40 -> 199 per group, 796 in all."""
    b = builder()
    x = b.operand("input", Role.activation, shape=[1, 4, 6, 6], bits=8)
    w = b.operand("weight", Role.static_weight, shape=[4, 1, 3, 3], bits=8)
    b.add("conv2d", "dw", operands=[x, w], in_channels=4, out_channels=4, in_h=6, in_w=6,
          kernel_h=3, kernel_w=3, pad_h=1, pad_w=1, groups=4)
    assert simulate(b.build(), hw())["cycles"] == 4 * 199


def test_vector_ops_need_a_vector_unit(hw):
    b = builder()
    b.add("softmax", "sm", rows=10, cols=5)
    with pytest.raises(UnsupportedOpError, match="softmax.*conv2d, linear, matmul"):
        simulate(b.build(), hw())
    # 50 elements * 5 ops / 2 lanes = 125 cycles; 250 ops * 2 pJ; 50 * 8 bits in and out of DRAM
    r = simulate(b.build(), hw(**{"params.vector_lanes": 2}))
    assert r["cycles"] == 125
    assert r["energy_j_by_component"]["vector"] == pytest.approx(500e-12)
    assert r["energy_j_by_component"]["dram"] == pytest.approx(800e-12)


def test_operands_wider_than_the_pe_are_refused(hw):
    with pytest.raises(UnsupportedOpError, match="16-bit inputs.*pe_input_bits"):
        simulate(linear(in_bits=16), hw())
    assert simulate(linear(in_bits=16), hw(**{"params.pe_input_bits": 16}))["cycles"] == 17


@pytest.mark.parametrize("key,value,needle", [
    ("params.dataflow", "rs", "params.dataflow"),
    ("params.rows", 0, "params.rows"),
    ("params.ifmap_sram_kib", -1, "params.ifmap_sram_kib"),
    ("params.sram_active_fraction", 1.5, "params.sram_active_fraction"),
    ("params.colums", 4, "did you mean 'cols'"),
])
def test_bad_params_name_file_and_key(hw, tmp_path, key, value, needle):
    with pytest.raises(ConfigError) as info:
        hw(**{key: value})
    assert needle in str(info.value) and "hw.yaml" in str(info.value)


def test_shipped_configs_price_their_buffer_sizes(repo):
    """The tables price each buffer from its size; the hardware file must pass the same sizes."""
    path = repo / "hw_configs/systolic_tpu_like_32x32.yaml"
    hw = load_hardware(path, overrides={"variables.IFMAP_KIB": 128})
    assert hw.params.ifmap_sram_kib == 128
    with pytest.raises(ConfigError, match="energy.variables.ifmap_sram_kib.*params.ifmap_sram_kib is 128"):
        load_hardware(path, overrides={"params.ifmap_sram_kib": 128})
    # a 4x bigger buffer costs sqrt(4) = 2x per bit (Horowitz fit)
    small = load_hardware(path).table.action("ifmap_sram", "read_bit").energy_pj
    assert hw.table.action("ifmap_sram", "read_bit").energy_pj == pytest.approx(np.sqrt(2) * small)


@pytest.mark.parametrize("name", ["systolic_tpu_like_32x32.yaml", "systolic_eyeriss_12x14.yaml"])
def test_shipped_configs_run_resnet18(repo, name):
    r = simulate(load_layer_list(repo / "examples/resnet18.yaml"), repo / "hw_configs" / name)
    assert r["macs"] == 1_814_073_344          # torchvision ResNet-18 at 224x224
    assert r["cycles"] > r["metrics"]["compute_cycles"] * 0.99 and r["energy_j"] > 0 and r["area_mm2"] > 0
    assert set(r["energy_j_by_component"]) >= {"multiplier", "ifmap_sram", "filter_sram", "ofmap_sram", "dram"}


@pytest.mark.parametrize("example", ["tiny_snn.yaml", "tiny_transformer.yaml"])
def test_other_workloads_run(repo, example):
    """Spiking layers (1-bit inputs, LIF on the vector unit) and attention (run-time K, V) run on
    the TPU-like array; every GEMM op's compute cycles are the equations' for its GEMM view."""
    trace = load_layer_list(repo / "examples" / example)
    hw = load_hardware(repo / "hw_configs/systolic_tpu_like_32x32.yaml", overrides={"params.psum_tiling": False})
    ops = simulate(trace, hw).ops.set_index("op_id")
    for op in trace.ops:
        if op.kind in ("conv2d", "linear", "matmul"):
            dynamic = op.kind == "matmul"
            M = op.gemm.M if dynamic else op.gemm.M * op.timesteps
            groups = op.gemm.groups * (op.timesteps if dynamic else 1)
            expect = groups * int(sm.gemm_costs("ws", 32, 32, M, op.gemm.K, op.gemm.N)["cycles"])
            assert ops.loc[op.id, "compute_cycles"] == expect, op.id
