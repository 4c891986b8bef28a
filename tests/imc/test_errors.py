"""Bad input to the imc model and the noise engine: one clear line naming the file/op and key."""
import numpy as np
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.errors import ConfigError, PriceError
from archsim.noise import CrossbarSpec, program
from archsim.trace.schema import Role
from tests.helpers import builder
from tests.imc.test_cost import HW, TABLE


@pytest.fixture
def files(tmp_path):
    (tmp_path / "table.yaml").write_text(TABLE)

    def write(hw_text=HW, table_text=TABLE):
        (tmp_path / "table.yaml").write_text(table_text)
        (tmp_path / "hw.yaml").write_text(hw_text)
        return tmp_path / "hw.yaml"
    return write


def message(exc_info):
    return str(exc_info.value)


def test_unknown_key_names_file_line_and_suggestion(files):
    path = files(HW.replace("crossbar: {rows: 32, cols: 16", "crossbar: {rows: 32, colums: 16"))
    with pytest.raises(ConfigError) as e:
        load_hardware(path)
    assert "hw.yaml:" in message(e) and "params.crossbar.colums" in message(e) and "did you mean 'cols'" in message(e)


def test_negative_and_wrong_type(files):
    with pytest.raises(ConfigError, match=r"params\.crossbar\.rows: input should be greater than or equal to 1"):
        load_hardware(files(HW.replace("rows: 32", "rows: -4")))
    with pytest.raises(ConfigError, match=r"params\.pe\.cycle_clocks"):
        load_hardware(files(HW.replace("cycle_clocks: 10", "cycle_clocks: fast")))


def test_inconsistent_sharing(files):
    with pytest.raises(ConfigError, match="adc.sharing 'pe'.*kernel_positions"):
        load_hardware(files(HW.replace("cols_per_adc: 4}", "cols_per_adc: 4, sharing: pe}")))


def test_conductance_range(files):
    with pytest.raises(ConfigError, match="noise: G_min 20"):
        load_hardware(files(HW + "  noise: {g_min_us: 20, g_max_us: 10}\n"))
    with pytest.raises(ConfigError, match="g_max_us or r_min_ohm"):
        load_hardware(files(HW + "  noise: {g_max_us: 20, r_min_ohm: 1000}\n"))


def test_missing_price_fails_at_load(files):
    table = TABLE.replace("  mux: {actions: {select: {energy_pj: 0.5, source: test}}, area_um2: {value: 1, source: test}}\n", "")
    with pytest.raises(PriceError, match="components.mux: the energy table has no component 'mux'"):
        load_hardware(files(table_text=table))


def tagged_trace(tags):
    b = builder()
    w = b.operand("weight", Role.static_weight, shape=[4, 8], bits=4)
    b.add("linear", "fc", operands=[w], tokens=1, in_features=8, out_features=4, tags=tags)
    return b.build()


def test_bad_tags(files):
    hw = load_hardware(files())
    with pytest.raises(ConfigError, match=r"op fc: tags.imc.weight_bits: expected int, got 'eight'"):
        simulate(tagged_trace({"imc.weight_bits": "eight"}), hw)
    with pytest.raises(ConfigError, match=r"op fc: tags.imc.colour: unknown imc option"):
        simulate(tagged_trace({"imc.colour": 1}), hw)
    with pytest.raises(ConfigError, match=r"tags.imc.conv_mapping: expected 'kernel_positions' or 'unrolled'"):
        simulate(tagged_trace({"imc.conv_mapping": "diagonal"}), hw)
    with pytest.raises(ConfigError, match=r"tags.imc.weight_bits: must be positive"):
        simulate(tagged_trace({"imc.weight_bits": 0}), hw)


def test_lif_per_pe_cycle_needs_a_crossbar_layer(files):
    hw = load_hardware(files(), overrides={"params.neuron.energy_per": "pe_cycle"})
    b = builder(T=2)
    b.add("lif", "lif", neurons=10)
    with pytest.raises(ConfigError, match="LIF op 'lif'.*has none; use 'neuron'"):
        simulate(b.build(), hw)


def test_spec_errors(repo):
    with pytest.raises(ConfigError, match="CrossbarSpec: signed_weights must be one of"):
        CrossbarSpec(signed_weights="two")
    with pytest.raises(ConfigError, match="need 0 < g_min_us < g_max_us"):
        CrossbarSpec(g_min_us=5, g_max_us=1)
    with pytest.raises(ConfigError, match="architecture: the noise engine needs an 'imc' description"):
        CrossbarSpec.from_hardware(repo / "hw_configs/mac_array_example.yaml")
    with pytest.raises(ConfigError, match="tags.noise.read_noise: unknown noise option"):
        CrossbarSpec().for_tags({"noise.read_noise": 0.1}, where="op qk")
    with pytest.raises(ConfigError, match="op qk: tags.noise.adc_bits: expected int"):
        CrossbarSpec().for_tags({"noise.adc_bits": "six"}, where="op qk")


def test_row_groups_must_partition_rows():
    with pytest.raises(ValueError, match="cover each of the 10 rows exactly once"):
        program(np.ones((10, 3)), CrossbarSpec(rows=8), row_groups=[np.arange(5), np.arange(4, 10)])
    with pytest.raises(ValueError, match="more than 8 rows"):
        program(np.ones((10, 3)), CrossbarSpec(rows=8), row_groups=[np.arange(10)])
