"""Crossbar, PE and tile mapping against hand computations."""
import math
from dataclasses import replace

import pytest

from archsim.arch.imc.mapping import OpOptions, input_planes, map_network, map_op
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.trace.io import load_trace
from archsim.trace.schema import Role
from archsim.generators.shapes.transformers import preset_trace
from tests.helpers import builder


@pytest.fixture(scope="module")
def trex(repo_root):
    return load_hardware(repo_root / "hw_configs/trex_fefet_32nm.yaml")


@pytest.fixture(scope="module")
def repo_root():
    from pathlib import Path
    return Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def deit(trex):
    return simulate(preset_trace("deit_s"), trex)


def test_deit_s_crossbars_by_hand(deit):
    """DeiT-S (D 384, 6 heads of 64, MLP 1536, 197 tokens) on 64x64 crossbars, 8-bit weights at
    2 bits per cell = 4 columns per weight (offset encoding):
    QKV 384 rows -> 6 row blocks x 1152*4/64 = 72 column blocks = 432; proj 6 x 24 = 144;
    FC1 6 x 96 = 576; FC2 1536/64 = 24 x 24 = 576 (1728 static per encoder);
    K^T per head 64 rows -> 1 x ceil(197*4/64) = 13 -> 78; V per head ceil(197/64) = 4 x 256/64 = 4
    -> 16 x 6 = 96 (174 written per encoder)."""
    ops = deit.ops.set_index("op_id")
    expected = {"qkv": 432, "proj": 144, "fc1": 576, "fc2": 576, "qk": 78, "av": 96}
    for i in range(12):
        for name, n in expected.items():
            assert ops.loc[f"e{i}.{name}", "crossbars"] == n, (i, name)
    static = sum(ops.loc[f"e{i}.{n}", "crossbars"] for i in range(12) for n in ("qkv", "proj", "fc1", "fc2"))
    assert static == 20736


def test_deit_s_cells_written_by_hand(deit):
    """Cells written per encoder: K^T 6 x 64 x 197 x 4 = 302,592 and V 6 x 197 x 64 x 4 = 302,592,
    605,184 in all; 12 encoders write 7,262,208 cells per image. Static layers write nothing."""
    ops = deit.ops.set_index("op_id")
    assert ops.loc["e0.qk", "cells_written"] == 302592
    assert ops.loc["e0.av", "cells_written"] == 302592
    assert deit["metrics"]["cells_written"] == 7262208
    assert ops.loc["e0.fc1", "cells_written"] == 0
    # 78 K^T crossbars hold 302,592 of their 78 x 4096 = 319,488 cells
    assert ops.loc["e0.qk", "utilization"] == pytest.approx(302592 / (78 * 4096))


def test_deit_s_write_cycles(deit):
    """TReX-like writes: row by row, 4 pulses + 3 verify iterations of 200 + 10 clocks ->
    7 x 200 + 3 x 10 = 1430 clocks per row, 64 rows per crossbar, 8 crossbars at a time:
    K^T 78 crossbars -> 10 waves, V 96 -> 12 waves."""
    ops = deit.ops.set_index("op_id")
    assert ops.loc["e0.qk", "write_cycles"] == 10 * 64 * 1430
    assert ops.loc["e0.av", "write_cycles"] == 12 * 64 * 1430


def test_committed_deit_trace_matches_builder(repo_root):
    committed = load_trace(repo_root / "examples/deit_s.trace")
    fresh = preset_trace("deit_s")
    assert committed.manifest.model_dump() == fresh.manifest.model_dump()
    assert sum(op.macs for op in fresh.ops) == pytest.approx(4.5989e9, rel=1e-4)


def conv_op(cin=100, cout=30, k=3, groups=1):
    b = builder()
    b.add("conv2d", "c", in_channels=cin, out_channels=cout, in_h=8, in_w=8, kernel_h=k, kernel_w=k,
          pad_h=k // 2, pad_w=k // 2, groups=groups)
    return b.build().ops[0]


def test_conv_mappings_by_hand(trex):
    """C_in 100, C_out 30, 3x3 on 64x64 with 4 columns per weight (120 columns -> 2 blocks):
    by kernel position 9 x ceil(100/64) = 2 x 2 = 36 crossbars; unrolled ceil(900/64) = 15 x 2
    = 30; with differential pairs 4 columns per sign -> 240 columns -> 4 blocks."""
    p = trex.params
    op = conv_op()
    kp = map_op(op, p, OpOptions.for_op(p, op))
    assert (kp.positions, kp.row_blocks, kp.col_blocks, kp.crossbars) == (9, 2, 2, 36)
    un = map_op(op, p, replace(OpOptions.for_op(p, op), conv_mapping="unrolled"))
    assert (un.positions, un.row_blocks, un.col_blocks, un.crossbars) == (1, 15, 2, 30)
    diff = p.model_copy(update={"mapping": p.mapping.model_copy(update={"signed_weights": "differential"})})
    assert map_op(op, diff, OpOptions.for_op(diff, op)).crossbars == 9 * 2 * 4
    assert kp.cells_used == 9 * 100 * 120
    assert un.cells_used == 900 * 120


def test_grouped_conv_and_pe_packing(trex):
    """Depthwise-like conv (groups 4, 16 -> 16 channels: 4 in and 4 out per group): each group
    has 9 crossbars of 4 rows x 16 columns -> 36; dense packing at 8 per PE -> 5 PEs."""
    p = trex.params
    op = conv_op(cin=16, cout=16, groups=4)
    lay = map_op(op, p, OpOptions.for_op(p, op))
    assert (lay.groups, lay.crossbars, lay.pes) == (4, 36, 5)


def test_kernel_position_pes_and_adc_sharing(repo_root):
    """SpikeSim packing with a 5x5 kernel: 25 positions at 9 per PE -> 3 PEs per (row, column)
    block; conversions per vector with shared bit lines = 3 PEs x 64 columns."""
    hw = load_hardware(repo_root / "hw_configs/spikesim_rram_65nm.yaml")
    op = conv_op(cin=64, cout=64, k=5)
    lay = map_op(op, hw.params, OpOptions.for_op(hw.params, op))
    assert (lay.crossbars, lay.pes, lay.conversions_per_vector) == (25, 3, 3 * 64)
    assert lay.reads_per_vector == 25 * 8          # 8 multiplexer steps per crossbar


def test_tiles_shared_or_not(trex):
    """Two linear layers needing 3 and 5 PEs at 8 PEs per tile: 1 tile when layers share tiles,
    2 when each layer has its own."""
    b = builder()
    for i, n in enumerate((96, 160)):   # 64 rows x n*4/64 column blocks = 6 and 10 crossbars
        b.add("linear", f"l{i}", tokens=1, in_features=64, out_features=n)
    ops = b.build().ops
    p = trex.params
    assert [map_op(o, p, OpOptions.for_op(p, o)).crossbars for o in ops] == [6, 10]
    dense = p.model_copy(update={"pe": p.pe.model_copy(update={"crossbars": 2})})
    assert map_network(ops, dense).tiles == 2
    shared = dense.model_copy(update={"tile": dense.tile.model_copy(update={"shared_by_layers": True})})
    assert map_network(ops, shared).tiles == 1


@pytest.mark.parametrize("bits,signed,dac,planes", [(1, False, 1, 1), (8, True, 1, 8), (8, False, 1, 8),
                                                    (8, True, 2, 5), (8, False, 2, 4), (7, False, 3, 3)])
def test_input_planes(bits, signed, dac, planes):
    """Signed: ceil((b-1)/dac) magnitude digits + 1 sign plane; unsigned: ceil(b/dac)."""
    assert input_planes(bits, signed, dac) == planes


def test_tag_overrides(trex):
    """imc.weight_bits: 4 on one op -> 2 columns per weight instead of 4."""
    b = builder()
    w = b.operand("weight", Role.static_weight, shape=[64, 64], bits=8)
    b.add("linear", "l", operands=[w], tokens=1, in_features=64, out_features=64, tags={"imc.weight_bits": 4})
    op = b.build().ops[0]
    lay = map_op(op, trex.params, OpOptions.for_op(trex.params, op))
    assert lay.cols_per_weight == 2 and lay.crossbars == math.ceil(128 / 64)


def test_layer_areas_with_one_layer_per_tile(trex, deit):
    """Without tile sharing a layer owns ceil(PEs / 8) whole tiles: K^T of an encoder (78
    crossbars -> 10 PEs) owns 2 tiles = 16 PE slots = 128 crossbar slots; rows sum to the chip."""
    from archsim.arch.imc.area import layer_area_um2
    table = layer_area_um2(preset_trace("deit_s"), trex)
    xbar = trex.table.area_um2("crossbar").value
    assert table.loc["e0.qk", "crossbar"] == pytest.approx(128 * xbar)
    assert table.values.sum() == pytest.approx(deit["area_mm2"] * 1e6, rel=1e-12)
