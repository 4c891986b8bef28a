"""SpikeSim's ELA (VGG9 / CIFAR-10, T = 5) reproduced by the imc model with its preset.

Targets: the ELA script of Intelligent-Computing-Lab-Yale/SpikeSim run unchanged
(SNN_train_infer_quantization_ela/ela_spikesim.py, see ../shared/research/imc.md section 2.1):
48 PEs, 6 tiles, 15,906,934 pJ, 62,832,640 ns, 8,425,528.76 um^2. Our equations are derived
from the script's description, not its code: docs/models/imc.md.
"""
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.trace.layer_list import load_layer_list

C_IN = [3, 64, 64, 128, 128, 256, 256]
C_OUT = [64, 64, 128, 128, 256, 256, 256]
H_OUT = [32, 16, 16, 8, 8, 8, 4]
H_IN = [32, 32, 16, 16, 8, 8, 8]
T = 5


@pytest.fixture(scope="module")
def result(request):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    trace = load_layer_list(repo / "examples/spikesim_vgg9.yaml")
    hw = load_hardware(repo / "hw_configs/spikesim_rram_65nm.yaml")
    model = hw.create_model()
    return simulate(trace, hw), trace, hw, model


@pytest.mark.paper
def test_published_ela_figures(result):
    """15.91 uJ, 62.83 ms, 8.43 mm^2 to 0.1 %, and the exact figures of the script."""
    r = result[0]
    assert r["energy_j"] == pytest.approx(15.91e-6, rel=1e-3)
    assert r["latency_s"] == pytest.approx(62.83e-3, rel=1e-3)
    assert r["area_mm2"] == pytest.approx(8.43, rel=1e-3)
    assert r["energy_j"] == pytest.approx(15_906_934.03e-12, rel=1e-9)
    assert r["latency_s"] == pytest.approx(62_832_640e-9, rel=1e-12)
    assert r["area_mm2"] == pytest.approx(8_425_528.76e-6, rel=1e-9)


def test_pes_and_tiles(result):
    """PEs per layer = ceil(C_in/64) ceil(C_out/64) = 1, 1, 2, 4, 8, 16, 16 -> 48; tiles = 48/8."""
    r = result[0]
    pes = r.ops.set_index("op_id").loc[[f"conv{i}" for i in range(1, 8)], "pes"].tolist()
    assert pes == [1, 1, 2, 4, 8, 16, 16]
    assert r["instances"]["pe"] == 48 and r["instances"]["tile"] == 6
    assert r["instances"]["crossbar"] == 6 * 8 * 9


def test_energy_per_pe_cycle_and_layer(result):
    """One PE cycle: 72 crossbar reads x 1.76423 + 64 conversions x (2.03084 ADC + 0.094245 MUX
    + 2.3e-6 subtract + 0.025 temp buffer) + 397 tile buffer + 157.12 H-tree + 4.64 fetch +
    5.096 neuron = 828.4861472 pJ. PE cycles per layer per timestep = PEs x H_out^2 =
    1024, 256, 512, 256, 512, 1024, 256 (3840)."""
    r = result[0]
    ops = r.ops.set_index("op_id")
    per_cycle = 72 * 1.76423 + 64 * (2.03084 + 0.094245 + 2.3e-6 + 0.025) + 397 + 157.12 + 4.64 + 5.096
    assert per_cycle == pytest.approx(828.4861472)
    cycles = [int(ops.loc[f"conv{i}", "pe_cycles"]) // T for i in range(1, 8)]
    assert cycles == [1024, 256, 512, 256, 512, 1024, 256]
    for i, c in enumerate(cycles, start=1):
        layer = ops.loc[f"conv{i}", "energy_pj"] + ops.loc[f"lif{i}", "energy_pj"]
        assert layer == pytest.approx(c * T * per_cycle, rel=1e-12)


def test_latency_schedule(result):
    """Layer i+1 starts when 75 % of layer i's output neurons (H W C T, one per 26-clock PE
    cycle) are done: latency = (sum_{i<7} 0.75 N_i + N_7) T PE cycles = 604,160 x 104 ns."""
    from archsim.arch.imc.latency import schedule
    r, trace, hw, _ = result
    cycles = dict(zip(r.ops["op_id"], r.ops["cycles"]))
    times = schedule(trace.ops, cycles, "pipelined", 0.75)
    neurons = [c * h * h for c, h in zip(C_OUT, H_OUT)]
    start = 0.0
    for i, n in enumerate(neurons, start=1):
        assert times[f"conv{i}"][0] == pytest.approx(start * 26)
        start += 0.75 * n * T
    assert r["cycles"] == pytest.approx((sum(0.75 * n for n in neurons[:-1]) + neurons[-1]) * T * 26)


def test_area_breakdown(result):
    """Tile = 8 x 13411.41498 (subtractors) + 484.643999 (temp buffer) + 8192 x 0.7391 (tile
    buffer) + 8 PEs x (9 x 26.2144 + 8 x (693.633 + 45.9)) + 433660 (H-tree) = 596,708.21 um^2;
    input buffers sum(C_in H_in^2) x 22 x 0.7391; membrane memory of the first five layers
    sum(C_out H_out^2) x 22 x 0.7391."""
    r = result[0]
    a = r["area_mm2_by_component"]
    pe = 9 * 26.2144 + 8 * (693.633 + 45.9)
    tile = 8 * 13411.41498 + 484.643999 + 8192 * 0.7391 + 8 * pe + 433660
    assert tile == pytest.approx(596708.21, abs=0.01)
    tiles = sum(a[c] for c in ("crossbar", "adc", "mux", "shift_add", "psum_buffer", "tile_buffer", "htree", "dac"))
    assert tiles == pytest.approx(6 * tile * 1e-6, rel=1e-12)
    assert a["input_buffer"] == pytest.approx(sum(c * h * h for c, h in zip(C_IN, H_IN)) * 22 * 0.7391e-6)
    assert a["membrane_memory"] == pytest.approx(sum(c * h * h for c, h in zip(C_OUT[:5], H_OUT[:5])) * 22 * 0.7391e-6)


def test_layer_by_layer_is_slower(result):
    """Without pipelining the layers run back to back: latency = sum of N_i T PE cycles."""
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    hw = load_hardware(repo / "hw_configs/spikesim_rram_65nm.yaml", overrides={"params.latency.mode": "layer_by_layer"})
    r = simulate(result[1], hw)
    neurons = [c * h * h for c, h in zip(C_OUT, H_OUT)]
    assert r["cycles"] == pytest.approx(sum(neurons) * T * 26)
    assert r["energy_j"] == pytest.approx(result[0]["energy_j"])


def test_layer_areas_sum_to_the_chip(result):
    """Per-layer area: conv7 owns 16 PEs = 2 tiles of 8 (tile 596,708.21 um^2) plus its input
    buffer 256 x 8 x 8 x 22 x 0.7391 um^2; lif1 owns 64 x 32 x 32 x 22 x 0.7391 of membrane
    memory. All rows sum to the chip's 8,425,528.76 um^2."""
    from archsim.arch.imc.area import layer_area_um2
    r, trace, hw, _ = result
    table = layer_area_um2(trace, hw)
    pe = 9 * 26.2144 + 8 * (693.633 + 45.9)
    tile = 8 * 13411.41498 + 484.643999 + 8192 * 0.7391 + 8 * pe + 433660
    assert table.loc["conv7"].sum() == pytest.approx(2 * tile + 256 * 64 * 22 * 0.7391)
    assert table.loc["lif1"].sum() == pytest.approx(64 * 32 * 32 * 22 * 0.7391)
    assert table.loc["lif7"].sum() == 0.0            # beyond the five layers with membrane memory
    assert table.values.sum() == pytest.approx(r["area_mm2"] * 1e6, rel=1e-12)
    assert abs(table.loc["(shared)"].sum()) < 1e-6
