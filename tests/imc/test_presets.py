"""Every imc preset simulates the example traces (SNN and transformer) end to end."""
import pytest

from archsim.cli.common import load_any_trace
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.noise import CrossbarSpec

PRESETS = ["spikesim_rram_65nm.yaml", "trex_fefet_32nm.yaml", "clipformer_rram_32nm.yaml"]
TRACES = ["tiny_snn.yaml", "tiny_transformer.yaml", "spikesim_vgg9.yaml", "deit_s.trace"]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("trace", TRACES)
def test_preset_runs_example(repo, preset, trace):
    r = simulate(load_any_trace(repo / "examples" / trace), load_hardware(repo / "hw_configs" / preset))
    assert r["energy_j"] > 0 and r["latency_s"] > 0 and r["area_mm2"] > 0
    assert r["tops_per_w"] > 0 and r["tops_per_mm2"] > 0 and r["edap_j_s_mm2"] > 0
    written = r["metrics"]["cells_written"]
    assert (written > 0) == (trace in ("tiny_transformer.yaml", "deit_s.trace"))
    if written:
        assert r["energy_j_by_component"]["crossbar"] > 0 and r["metrics"]["write_cycles"] > 0


def test_trex_preset_values(repo):
    """The TReX figures the preset takes from the paper: 64x64, 2-bit cells, 8 crossbars per PE,
    8 PEs per tile, 6-bit ADC, 8-bit weights and inputs, one layer per tile."""
    p = load_hardware(repo / "hw_configs/trex_fefet_32nm.yaml").params
    assert (p.crossbar.rows, p.crossbar.cols, p.crossbar.bits_per_cell) == (64, 64, 2)
    assert (p.pe.crossbars, p.tile.pes, p.adc.bits, p.weight_bits, p.input_bits) == (8, 8, 6, 8, 8)
    assert not p.tile.shared_by_layers


def test_clipformer_preset_values(repo):
    """ClipFormer: 64x64, 2-bit cells, 8-bit weights in 4 slices, R_min 100 kOhm, ON/OFF 100,
    TxSim write noise."""
    spec = CrossbarSpec.from_hardware(repo / "hw_configs/clipformer_rram_32nm.yaml")
    assert (spec.rows, spec.cols, spec.bits_per_cell, spec.weight_bits) == (64, 64, 2, 8)
    assert spec.g_max_us == pytest.approx(10.0) and spec.g_min_us == pytest.approx(0.1)
    assert spec.write.kind == "txsim" and spec.write.gamma == 3


def test_adc_sweep_reprices_and_retimes(repo):
    """An ADC-bits sweep on the TReX-like preset changes the NeuroSim SAR price (b + 1) ns x
    (1.1294 b + 8.8998) uW and the PE cycle 8 x (b + 1) + 1 clocks consistently."""
    trace = load_any_trace(repo / "examples/tiny_transformer.yaml")
    r = {b: simulate(trace, load_hardware(repo / "hw_configs/trex_fefet_32nm.yaml", overrides={"variables.ADC_BITS": b}))
         for b in (4, 6)}
    price = {b: (1.1294 * b + 8.8998) * (b + 1) * 1e-3 for b in (4, 6)}
    conv = {b: r[b].actions.query("component == 'adc'")["count"].sum() for b in (4, 6)}
    assert conv[4] == conv[6]
    assert r[6]["energy_j_by_component"]["adc"] / r[4]["energy_j_by_component"]["adc"] == pytest.approx(price[6] / price[4])
    compute = {b: r[b]["metrics"]["compute_cycles"] for b in (4, 6)}
    assert compute[6] > compute[4]
