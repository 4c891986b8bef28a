"""Bad hardware descriptions and tables: one line each, naming the file, line and key path."""
import pytest

from archsim.config.hardware import load_hardware
from archsim.energy.table import load_tables
from archsim.errors import ConfigError, PriceError
from tests.helpers import write_file, write_files

TABLE = """
name: t
components:
  mac:
    actions:
      mac: {energy_pj: 1.0, source: test}
      acc: {energy_pj: 0.5, source: test}
    area_um2: {value: 100, source: test}
  vector:
    actions: {op: {energy_pj: 1.0, source: test}}
    area_um2: {value: 10, source: test}
  sram:
    actions:
      read_bit: {energy_pj: 0.1, source: test}
      write_bit: {energy_pj: 0.1, source: test}
    area_um2: {value: 0.5, source: test}
  dram:
    actions:
      read_bit: {energy_pj: 10, source: test}
      write_bit: {energy_pj: 10, source: test}
"""

HW = """
architecture: mac_array
name: hw
clock_mhz: 100
energy: {tables: [table.yaml]}
params:
  rows: 2
  cols: 4
  vector_lanes: 2
  sram_kib: 1
  dram_bandwidth_gbps: 1.0
"""


@pytest.fixture
def files(tmp_path):
    return write_files(tmp_path, {"table.yaml": TABLE})


def errors_of(path):
    with pytest.raises(ConfigError) as info:
        load_hardware(path)
    return info.value.problems


def test_good_file_loads(files):
    hw = load_hardware(write_file(files, "hw.yaml", HW))
    assert hw.params.rows == 2 and hw.config.clock_mhz == 100


# a hw.yaml with one mistake: its one error line holds each part ("{p}" is the file's path; a part
# that starts with it is the start of the line)
ONE_ERROR = {
    "negative_size": (HW.replace("rows: 2", "rows: -4"),
                      ["{p}:7: params.rows: input should be greater than or equal to 1, got -4"]),
    "zero_size": (HW.replace("clock_mhz: 100", "clock_mhz: 0"),
                  ["{p}:4: clock_mhz: input should be greater than 0, got 0"]),
    "unknown_top_level_key": (HW + "clock_mhx: 3\n", ["clock_mhx: unknown key (did you mean 'clock_mhz'?)"]),
    "wrong_type": (HW.replace("rows: 2", "rows: many"), ["params.rows: input should be a valid integer", "'many'"]),
    "malformed_yaml": ("architecture: mac_array\nparams: {rows: [1, 2\n", ["{p}:", "malformed YAML"]),
    "duplicate_key": (HW + "name: again\n", ["name: duplicate key"]),
    "unknown_architecture": (HW.replace("mac_array", "mac_aray"),
                             ["architecture: unknown architecture 'mac_aray' (did you mean 'mac_array'?)"]),
    "missing_include": (HW.replace("params:\n", "params: !include missing.yaml\nunused:\n"),
                        ["included file not found", "missing.yaml"]),
    "variables_never_eval": (HW.replace("params:", "variables: {X: __import__('os').getcwd()}\nparams:"),
                             ["variables.X:", "unsupported"]),
    "missing_table_file": (HW.replace("table.yaml", "nope.yaml"), ["energy.tables[0]: file not found"]),
}


@pytest.mark.parametrize("case", ONE_ERROR)
def test_one_error_names_file_line_key(files, case):
    text, parts = ONE_ERROR[case]
    p = write_file(files, "hw.yaml", text)
    (line,) = errors_of(p)
    for part in parts:
        want = part.replace("{p}", str(p))
        assert line.startswith(want) if part.startswith("{p}") else want in line, (part, line)


def test_unknown_key_did_you_mean(files):
    p = write_file(files, "hw.yaml", HW.replace("cols: 4", "colums: 4"))
    problems = errors_of(p)
    assert any("params.colums: unknown key (did you mean 'cols'?)" in line for line in problems)
    assert any("params.cols: required key is missing" in line for line in problems)   # all errors at once


def test_include_and_extends(files):
    write_file(files, "params.yaml", "rows: 8\ncols: 8\nvector_lanes: 4\nsram_kib: 2\ndram_bandwidth_gbps: 2\n")
    base = write_file(files, "base.yaml", HW.split("params:")[0] + "params: !include params.yaml\n")
    assert load_hardware(base).params.rows == 8
    child = write_file(files, "child.yaml", "extends: base.yaml\nname: child\nparams: {cols: 16}\n")
    hw = load_hardware(child)
    assert (hw.name, hw.params.rows, hw.params.cols) == ("child", 8, 16)


def test_extends_missing_and_cycle(files):
    p = write_file(files, "a.yaml", "extends: b.yaml\n")
    (line,) = errors_of(p)
    assert "base file not found" in line
    write_file(files, "b.yaml", "extends: a.yaml\n")
    (line,) = errors_of(p)
    assert "cycle" in line


def test_variables_arithmetic(files):
    text = HW.replace("params:", "variables: {X: 4, COLS: X * 2, KIB: ceil(COLS / 3)}\nparams:")
    text = text.replace("cols: 4", "cols: ${COLS}").replace("sram_kib: 1", "sram_kib: ${KIB}")
    hw = load_hardware(write_file(files, "hw.yaml", text))
    assert (hw.params.cols, hw.params.sram_kib) == (8, 3)


def test_overrides(files):
    hw = load_hardware(write_file(files, "hw.yaml", HW), overrides={"params.rows": 16})
    assert hw.params.rows == 16


def test_table_entry_without_source(tmp_path):
    p = write_file(tmp_path, "t.yaml", "name: t\ncomponents:\n  mac:\n    actions:\n      mac: {energy_pj: 1.0}\n")
    with pytest.raises(ConfigError, match=r"t.yaml:5: components.mac.actions.mac.source: required key is missing"):
        load_tables([p])


def test_missing_price_is_an_error(files):
    table = load_tables([files / "table.yaml"])
    with pytest.raises(PriceError, match="no price for action 'multiply'"):
        table.action("mac", "multiply")
    with pytest.raises(PriceError, match="has no component 'adc'"):
        table.action("adc", "convert")
    assert table.action("mac", "mac").energy_pj == 1.0
