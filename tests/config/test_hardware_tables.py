"""config.hardware.with_tables: a design re-loaded with other energy tables only equals loading it
whole (compared against: load_hardware on the same file and overrides)."""
import pytest

from archsim.config.hardware import load_hardware, with_tables
from archsim.errors import ConfigError


@pytest.mark.parametrize("hw,overrides", [
    ("hw_configs/spikesim_rram_65nm.yaml", {"energy.variables.V_WRITE": 2.5}),
    ("hw_configs/mac_array_example.yaml", {}),
    ("hw_configs/hetero_loas_systolic.yaml", {}),
])
def test_with_tables_equals_loading_whole(repo, hw, overrides):
    base = load_hardware(repo / hw)
    light = with_tables(base, repo / hw, overrides)
    whole = load_hardware(repo / hw, overrides)
    assert light.name == whole.name and light.config == whole.config and light.params == whole.params
    assert light.table.sources() == whole.table.sources()
    assert set(light.parts) == set(whole.parts)


def test_with_tables_reports_a_bad_energy_section(repo, tmp_path):
    src = (repo / "hw_configs/mac_array_example.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(src.replace("energy:", "energy:\n  colour: red", 1))
    with pytest.raises(ConfigError, match="colour"):
        with_tables(load_hardware(repo / "hw_configs/mac_array_example.yaml"), bad)
