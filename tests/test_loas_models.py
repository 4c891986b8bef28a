"""LoAS, SparTen-S, GoSPA-S and Gamma-S on hand-made tiny layers: cycles, effectual operations,
traffic and energy computed by hand (derivations in the docstrings), the conv path with stored
tensors against an independent direct count, non-GEMM ops, and bad input."""
import math

import numpy as np
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.errors import ConfigError, TraceError
from archsim.trace.schema import Role
from tests.helpers import builder

HW = "hw_configs/{}.yaml"

# The tiny layer (T = 4, M = 3 rows, K = 5, N = 2), spikes as packed words (bit t = timestep t):
#   row 0: k0 = 0b0101 (t0, t2), k2 = 0b1111, k3 = 0b0010 (t1); row 1 silent; row 2: k1 = 0b1000, k4 = 0b0111
#   weights (out x in): n0 = {k0: 2, k3: -1, k4: 3}, n1 = {k2: 5}
WORDS = np.array([[0b0101, 0, 0b1111, 0b0010, 0],
                  [0, 0, 0, 0, 0],
                  [0, 0b1000, 0, 0, 0b0111]], dtype=np.uint8)
WEIGHT = np.array([[2, 0, 0, -1, 3],
                   [0, 0, 5, 0, 0]], dtype=np.int8)


def tiny_trace(T=4):
    spikes = ((WORDS[None] >> np.arange(T)[:, None, None]) & 1).astype(np.uint8)
    b = builder(T=T)
    x = b.operand("input", Role.spike, data=spikes)
    w = b.operand("weight", Role.static_weight, data=WEIGHT, bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=3, in_features=5, out_features=2)
    return b.build()


def run(hw, trace=None, **over):
    return simulate(trace or tiny_trace(), load_hardware(HW.format(hw), overrides=over))


def bits(r, level):
    return r["traffic_bytes_by_level"][level] * 8


def test_loas_paper_by_hand(repo, monkeypatch):
    """Packed non-silent words: row 0 {k0, k2, k3}, row 2 {k1, k4} (5 of 15).
    Matched pairs: (0, n0) k0, k3; (0, n1) k2; (2, n0) k4 -> 4 ops. One tile (16 x 128 x 32):
    TPPE loads [3, 0, 1] -> 3 cycles.
    DRAM: write-back of the previous layer 5*4 + 15 = 35 bits; weight tile miss 4*8 + 10 = 42;
    spike tile miss 5*4 + 15 = 35 -> 112 bits = 14 B.
    SRAM: fills 42 + 35 = 77 written; read: weight broadcast 42 + spike bitmask 0 (the only
    tile equals the 'previous' one, the script's tiles[i-1] wrap) + 4 bits x 4 matches = 58 ->
    135 bits = 16.875 B.
    Energy in the script's units (nJ): 3/800 us x 124.98 mW + 2.9 x 14 + 0.0681 x 16.875 + 5.8 x 4
    = 0.468675 + 40.6 + 1.1491875 + 23.2 = 65.4178625."""
    monkeypatch.chdir(repo)
    r = run("loas_paper")
    assert r["cycles"] == 3 and r["macs_effectual"] == 4
    assert bits(r, "dram") == 112 and bits(r, "sram") == 135
    assert r["energy_j"] == pytest.approx(65.4178625e-9)
    assert r.ops.loc[0, "utilization"] == pytest.approx(4 / (16 * 3))
    m = r["metrics"]
    assert m["silent_neurons"] == 10 and m["neurons"] == 15
    assert m["spike_bits.loas"] == 15 + 5 * 4 and m["spike_bits.loas_strong"] == 15 + 3 * 4
    assert m["spike_bits.dense"] == 60


def test_loas_strong_mode_by_hand(repo, monkeypatch):
    """Strong mode drops the words firing once (row 0 k3, row 2 k1): row 0 {k0, k2}, row 2 {k4}.
    Pairs: (0, n0) k0; (0, n1) k2; (2, n0) k4 -> loads [2, 0, 1] -> 2 cycles, 3 ops."""
    monkeypatch.chdir(repo)
    r = run("loas_paper", **{"params.strong_silent": True})
    assert r["cycles"] == 2 and r["macs_effectual"] == 3


def test_sparten_by_hand(repo, monkeypatch):
    """Per timestep (loop n, m, t, k; one B column per PE):
    t0: row 0 {k0, k2}, row 2 {k4} -> PE n0: k0 + k4 = 2, PE n1: k2 = 1 -> 2 cycles
    t1: row 0 {k2, k3}, row 2 {k4} -> n0: k3 + k4 = 2, n1: 1 -> 2
    t2: as t0 -> 2;  t3: row 0 {k2}, row 2 {k1} -> n0: 0, n1: 1 -> 1.  Cycles 7, ops 10
    (= sum of the matched words' spike counts 2 + 1 + 4 + 3).
    DRAM: write-back T*M*K = 60 bits; the weight tile misses once, 4*8 + 10 = 42; spike tiles of
    t0, t1, t3 miss (t2 equals t0: a hit), 15 bits each -> 45. Total 147 bits.
    SRAM: fills 87 written; read: spike tile 15 bits x 4 tiles = 60, weight bitmask 0 (the weight
    tile never changes), 8 bits x 10 matches = 80 -> 140. Total 227 bits."""
    monkeypatch.chdir(repo)
    r = run("sparten_s_paper")
    assert r["cycles"] == 7 and r["macs_effectual"] == 10
    assert bits(r, "dram") == 147 and bits(r, "sram") == 227
    assert r["energy_j"] == pytest.approx((7 / 800 * 124.98 + 2.9 * 147 / 8 + 0.0681 * 227 / 8 + 6.15 * 10) * 1e-9)


def test_gospa_by_hand(repo, monkeypatch):
    """Same per-timestep loads as SparTen-S (PEs over columns): 7 cycles, 10 ops.
    DRAM: spike coordinates of the previous layer 11 spikes x 8 = 88 bits; weight tile miss 42;
    spike tiles t0, t1, t3 miss, nnz x (1 + 8) = (3 + 3 + 2) x 9 = 72; partial sums per tile
    2 PEs x 3 rows x 8 bits read and again written, x 4 tiles = 192 + 192 -> 586 bits.
    SRAM: fills 42 + 72 = 114 written; read per tile x_nnz x 9 (99 in all) + weight columns
    4*8 + 10 = 42 (168 in all) -> 267. Total 381 bits."""
    monkeypatch.chdir(repo)
    r = run("gospa_s_paper")
    assert r["cycles"] == 7 and r["macs_effectual"] == 10
    assert bits(r, "dram") == 586 and bits(r, "sram") == 381


def test_gamma_by_hand(repo, monkeypatch):
    """PEs over rows: t0 row 0 {n1 via k2, n0 via k0} = 2, row 2 {n0 via k4} = 1 -> 2; t1 -> 2;
    t2 -> 2; t3 row 0 {k2} = 1, row 2 {k1: no weight} = 0 -> 1. Cycles 7, ops 10.
    DRAM: coordinates 11 x 6 = 66; weight miss 4 x (8 + 6) = 56; spike misses (3+3+2) x 7 = 56;
    partial rows 3 PEs x 2 nonzero columns x 8 bits = 48 per tile each way, a quarter off chip:
    12 x 4 tiles each way = 96 -> 274 bits.
    SRAM: per tile 3 PEs x 4 weights x 14 = 168 (672 in all) + spikes 11 x 7 = 77 + partial rows
    192 read -> 941 read; fills 112 + partial rows 192 written -> 304. Total 1245 bits."""
    monkeypatch.chdir(repo)
    r = run("gamma_s_paper")
    assert r["cycles"] == 7 and r["macs_effectual"] == 10
    assert bits(r, "dram") == 274 and bits(r, "sram") == 1245


def test_loas_cycle_level_by_hand(repo, monkeypatch):
    """Cycle timing, no bandwidth limits, no fill: TPPE 0 issues its 3 matches at cycles 0..2
    (the tile lasts 3), the laggy prefix sum of its spike chunk is ready at 128/16 = 8, so the
    correction path pops at 8, 9, 10: drain 11 - 3 = 8 -> 11 cycles; with the 3-cycle fill 14."""
    monkeypatch.chdir(repo)
    free = {"params.sram_read_bits_per_cycle": None, "params.sram_write_bits_per_cycle": None,
            "params.dram_bandwidth_gbps": None}
    r = run("loas", **free, **{"params.pipeline_fill_cycles": 0})
    assert r["cycles"] == 11
    assert r["metrics"]["drain_cycles"] == 8 and r["metrics"]["fifo_stall_cycles"] == 0
    assert run("loas", **free)["cycles"] == 14


def test_loas_per_component_energy_by_hand(repo, monkeypatch):
    """Per-component counts on the tiny layer (FTP join): 4 matches -> 4 fast prefix uses,
    pseudo adds, FIFO-mp/FIFO-B accesses, weight-buffer reads; corrections = zero bits of the
    matched words: k0 0101 -> 2, k3 0010 -> 3, k2 1111 -> 0, k4 0111 -> 1 = 6 accumulator adds;
    laggy prefix 8 cycles for each busy TPPE-tile (TPPE 0 and 2) = 16; bitmask loads: 3 rows
    latch their A chunk (the tile does not 'change' vs the wrapped previous one: 0) + 3 rows x 2
    nonzero weight columns = 6."""
    monkeypatch.chdir(repo)
    r = run("loas", **{"params.pipeline_fill_cycles": 0})
    acts = r.actions.set_index(["component", "action"])["count"]
    assert acts["tppe_fast_prefix", "use"] == 4 and acts["tppe_pseudo_acc", "add"] == 4
    assert acts["tppe_correction_acc", "add"] == 6 and acts["tppe_laggy_prefix", "cycle"] == 16
    assert acts["tppe_fifo_mp", "access"] == 4 and acts["tppe_bitmask_reg", "load"] == 6
    ff = run("loas", **{"params.inner_join": "fast_fast"})
    acts = ff.actions.set_index(["component", "action"])["count"]
    # two fast prefix sums per match; the T accumulators add where the bit is 1: 2 + 1 + 4 + 3 = 10
    assert acts["tppe_fast_prefix", "use"] == 8 and acts["tppe_correction_acc", "add"] == 10
    assert ("tppe_laggy_prefix", "cycle") not in acts.index
    assert ff["area_mm2"] > r["area_mm2"]         # a second fast prefix sum costs more than laggy + FIFOs


def test_bandwidth_floor(repo, monkeypatch):
    """With DRAM at 0.8 GB/s = 1 bit/cycle at 800 MHz, the 112 bits of DRAM traffic bound the layer."""
    monkeypatch.chdir(repo)
    r = run("loas", **{"params.dram_bandwidth_gbps": 0.1, "params.pipeline_fill_cycles": 0})
    assert r["cycles"] == 112


# --- the conv path with stored tensors ---------------------------------------------------------------

def conv_trace(rng, T=4, C=3, H=6, W=5, O=4, stride=1, pad=1):
    spikes = (rng.random((T, 1, C, H, W)) < 0.3).astype(np.uint8)
    weight = (rng.integers(-5, 6, (O, C, 3, 3)) * (rng.random((O, C, 3, 3)) < 0.4)).astype(np.int8)
    b = builder(T=T)
    x = b.operand("input", Role.spike, data=spikes)
    w = b.operand("weight", Role.static_weight, data=weight, bits=8)
    b.add("conv2d", "conv", operands=[x, w], in_channels=C, out_channels=O, in_h=H, in_w=W,
          kernel_h=3, kernel_w=3, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad)
    lif_n = O * ((H + 2 * pad - 3) // stride + 1) * ((W + 2 * pad - 3) // stride + 1)
    b.add("lif", "lif", neurons=lif_n)
    return b.build(), spikes, weight


def direct_counts(spikes, weight, stride, pad):
    """Per (output position, output channel): matched non-silent neurons and their spikes,
    walking the conv windows directly (no im2col)."""
    T, _, C, H, W = spikes.shape
    O = weight.shape[0]
    counts = spikes[:, 0].sum(axis=0)
    oh, ow = (H + 2 * pad - 3) // stride + 1, (W + 2 * pad - 3) // stride + 1
    pairs = np.zeros((oh * ow, O), dtype=int)
    spk = np.zeros((oh * ow, O), dtype=int)
    for y in range(oh):
        for x in range(ow):
            for o in range(O):
                for c in range(C):
                    for i in range(3):
                        for j in range(3):
                            h, w = y * stride + i - pad, x * stride + j - pad
                            if 0 <= h < H and 0 <= w < W and counts[c, h, w] and weight[o, c, i, j]:
                                pairs[y * ow + x, o] += 1
                                spk[y * ow + x, o] += counts[c, h, w]
    return pairs, spk


@pytest.mark.parametrize("stride,pad", [(1, 1), (2, 0)])
def test_conv_with_stored_tensors(repo, monkeypatch, rng, stride, pad):
    monkeypatch.chdir(repo)
    trace, spikes, weight = conv_trace(rng, stride=stride, pad=pad)
    pairs, spk = direct_counts(spikes, weight, stride, pad)
    r = run("loas_paper", trace)
    conv = r.ops.set_index("op_id").loc["conv"]
    assert conv["macs_effectual"] == pairs.sum()
    # N <= 32 and K <= 128: one tile per 16 output positions, as long as its busiest TPPE (row)
    per_row = pairs.sum(axis=1)
    assert conv["cycles"] == sum(per_row[i:i + 16].max() for i in range(0, len(per_row), 16))
    for hw in ("sparten_s_paper", "gospa_s_paper", "gamma_s_paper"):
        assert run(hw, trace).ops.set_index("op_id").loc["conv", "macs_effectual"] == spk.sum()
    # the LIF after the conv: P-LIF beside the TPPEs (no cycles); a separate unit on the baselines
    lif = r.ops.set_index("op_id").loc["lif"]
    n = trace.op("lif").neurons
    assert lif["cycles"] == 0 and lif["hidden_cycles"] == math.ceil(n * 4 * 3 / 16)
    base = run("sparten_s_paper", trace).ops.set_index("op_id").loc["lif"]
    assert base["cycles"] == math.ceil(n * 4 * 3 / 16)


def test_kernel_backends_agree_on_a_model(repo, monkeypatch, rng):
    monkeypatch.chdir(repo)
    trace, _, _ = conv_trace(rng, C=8, H=8, W=8, O=40)
    for hw in ("loas", "sparten_s", "gamma_s", "gospa_s"):
        a = run(hw, trace).summary
        b = run(hw, trace, **{"params.kernel_backend": "reference"}).summary
        assert a["cycles"] == b["cycles"] and a["energy_j"] == pytest.approx(b["energy_j"])
        assert a["traffic_bytes_by_level"] == b["traffic_bytes_by_level"]


def test_multibit_input_runs_per_timestep(repo, monkeypatch):
    """An analog (activation) input is not packed: LoAS runs one plane per timestep and each
    match is a multiply-accumulate. A constant input repeated over T = 2: every nonzero input is
    present at both timesteps -> ops = 2 x 4 matched pairs (the tiny layer's pattern)."""
    monkeypatch.chdir(repo)
    b = builder(T=2)
    x = b.operand("input", Role.activation, data=np.repeat((WORDS != 0).astype(np.float32)[None] * 0.5, 2, axis=0),
                  store=True)
    w = b.operand("weight", Role.static_weight, data=WEIGHT, bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=3, in_features=5, out_features=2)
    r = run("loas_paper", b.build())
    assert r["macs_effectual"] == 8
    assert r.actions.set_index(["component", "action"])["count"]["tppe", "mac"] == 8


# --- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("key,value,needle", [
    ("params.tile_k", -3, "params.tile_k: input should be greater than or equal to 1"),
    ("params.loop_order", "mntx", "params.loop_order"),
    ("params.fifo_depth", "eight", "params.fifo_depth"),
    ("params.fifo_dept", 8, "did you mean 'fifo_depth'"),
    ("params.n_pe", 8, "tile_m (16) must equal n_pe (8)"),
    ("params.inner_join", "slow", "params.inner_join"),
])
def test_bad_params_are_reported(repo, key, value, needle):
    path = repo / "hw_configs/loas_paper.yaml"
    with pytest.raises(ConfigError) as err:
        load_hardware(path, overrides={key: value})
    assert needle in str(err.value) and str(path) in str(err.value)


def test_cycle_ftp_needs_row_split(repo):
    with pytest.raises(ConfigError, match="pe_split"):
        load_hardware(repo / "hw_configs/loas.yaml", overrides={"params.pe_split": "n", "params.tile_m": 32,
                                                                 "params.tile_n": 16})


def test_gemm_without_operands_is_a_trace_error(repo, monkeypatch):
    monkeypatch.chdir(repo)
    b = builder(T=4)
    b.add("linear", "fc", tokens=3, in_features=5, out_features=2)
    with pytest.raises(TraceError, match="operands 'input' and 'weight'"):
        run("loas_paper", b.build())


@pytest.mark.parametrize("hw", ["loas_paper", "loas", "sparten_s_paper", "gospa_s_paper", "gamma_s_paper"])
def test_all_silent_layer_costs_no_compute(repo, monkeypatch, hw):
    """Every neuron silent: no matched pair, no compute cycles; LoAS still moves the bitmasks."""
    monkeypatch.chdir(repo)
    b = builder(T=4)
    x = b.operand("input", Role.spike, data=np.zeros((4, 3, 5), dtype=np.uint8))
    w = b.operand("weight", Role.static_weight, data=WEIGHT, bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=3, in_features=5, out_features=2)
    r = run(hw, b.build())
    assert r["macs_effectual"] == 0
    assert r["metrics"]["compute_cycles"] == 0
    # loas.yaml: the one tile still fetches 42 + 15 bits from DRAM (1 cycle at 1280 bits/cycle),
    # then the 3-cycle pipeline fill
    assert r["cycles"] == (4 if hw == "loas" else 0)


def test_single_timestep_packing_changes_nothing(repo, monkeypatch):
    """T = 1: a packed word is the spike itself, so LoAS and the baselines do the same operations
    (the tiny layer's timestep 0: 3 pairs)."""
    monkeypatch.chdir(repo)
    trace = tiny_trace(T=1)
    ops = {hw: run(hw, trace)["macs_effectual"] for hw in ("loas_paper", "sparten_s_paper", "gospa_s_paper",
                                                            "gamma_s_paper")}
    assert set(ops.values()) == {3}


def test_dynamic_scheduling_by_hand(repo, monkeypatch):
    """SparTen-S with dynamic PE scheduling on the tiny layer: per timestep the (row, column) jobs
    are t0: (0, n0) 1, (0, n1) 1, (2, n0) 1 -> three PEs, 1 cycle; t1 and t2 likewise 1; t3:
    (0, n1) 1 -> 1. 4 cycles instead of 7; the same 10 operations."""
    monkeypatch.chdir(repo)
    r = run("sparten_s_paper", **{"params.pe_scheduling": "dynamic"})
    assert r["cycles"] == 4 and r["macs_effectual"] == 10
    assert run("loas_paper", **{"params.pe_scheduling": "dynamic"})["cycles"] == 2   # jobs 2, 1, 1 on 16 TPPEs
    with pytest.raises(ConfigError, match="multiple of 64"):
        load_hardware(repo / "hw_configs/loas_paper.yaml", overrides={"params.pe_scheduling": "dynamic",
                                                                       "params.tile_k": 100})
