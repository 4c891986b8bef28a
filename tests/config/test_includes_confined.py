"""!include, extends and energy tables stay inside the including file's folder tree, ARCHSIM_PATH
or archsim's hw_configs (invariant: nothing outside is read, and no error prints file contents)."""
import shutil
from pathlib import Path

import pytest

from archsim.cli.common import parse_sets
from archsim.config.hardware import load_hardware
from archsim.config.yaml_loader import load_yaml
from archsim.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SECRET = "top-secret-line-42"


@pytest.fixture
def tree(tmp_path):
    proj = tmp_path / "proj"
    (proj / "energy").mkdir(parents=True)
    shutil.copy(REPO / "hw_configs/mac_array_example.yaml", proj / "hw.yaml")
    shutil.copy(REPO / "hw_configs/energy/example_45nm.yaml", proj / "energy/example_45nm.yaml")
    (tmp_path / "secret.yaml").write_text(f"{SECRET}\n")
    return proj


def edit(path, old, new):
    path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize("ref", ["../secret.yaml", "{tmp}/secret.yaml", "energy/../../secret.yaml"])
def test_include_escape_refused_without_contents(tree, ref):
    ref = ref.format(tmp=tree.parent)
    edit(tree / "hw.yaml", "description: ", f"citation: !include {ref}\ndescription: ")
    with pytest.raises(ConfigError) as info:
        load_hardware(tree / "hw.yaml")
    (line,) = info.value.problems
    assert "outside the allowed folders" in line and "citation" in line and SECRET not in line


def test_table_and_set_escape_refused(tree):
    edit(tree / "hw.yaml", "energy/example_45nm.yaml", "../secret.yaml")
    with pytest.raises(ConfigError, match=r"energy.tables\[0\]: \.\./secret.yaml is outside"):
        load_hardware(tree / "hw.yaml")
    edit(tree / "hw.yaml", "../secret.yaml", "energy/example_45nm.yaml")
    assert load_hardware(tree / "hw.yaml").params.rows == 16
    with pytest.raises(ConfigError) as info:
        load_hardware(tree / "hw.yaml", parse_sets(["energy.tables.0=/etc/passwd"]))
    assert "--set energy.tables.0: " in str(info.value) and "outside" in str(info.value)


def test_search_path_and_explicit_allow(tree, monkeypatch):
    edit(tree / "hw.yaml", "description: ", "citation: !include secret.yaml\ndescription: ")
    with pytest.raises(ConfigError, match="included file not found"):
        load_hardware(tree / "hw.yaml")
    monkeypatch.setenv("ARCHSIM_PATH", str(tree.parent))     # a relative name is looked up there
    assert load_hardware(tree / "hw.yaml").config.citation == SECRET
    monkeypatch.delenv("ARCHSIM_PATH")
    edit(tree / "hw.yaml", "!include secret.yaml", "!include ../secret.yaml")
    monkeypatch.setenv("ARCHSIM_ALLOW_ANY_PATH", "1")
    assert load_hardware(tree / "hw.yaml").config.citation == SECRET


def test_inside_tree_and_shipped_tables_still_load(tree, monkeypatch):
    (tree / "sub").mkdir()
    (tree / "sub/hw.yaml").write_text((tree / "hw.yaml").read_text()
                                      .replace("energy/example_45nm.yaml", "../energy/example_45nm.yaml")
                                      .replace("  rows: ${ARRAY}\n", "  rows: !include ./rows.yaml\n"))
    (tree / "sub/rows.yaml").write_text("8\n")
    with pytest.raises(ConfigError, match="outside"):            # ../ leaves sub/'s tree
        load_hardware(tree / "sub/hw.yaml")
    monkeypatch.setenv("ARCHSIM_PATH", str(tree))                 # unless the search path holds it
    assert load_hardware(tree / "sub/hw.yaml").params.rows == 8
    edit(tree / "hw.yaml", "energy/example_45nm.yaml", str(REPO / "hw_configs/energy/example_45nm.yaml"))
    assert load_hardware(tree / "hw.yaml").table is not None         # archsim's own tables


def test_every_shipped_config_loads():
    for path in sorted((REPO / "hw_configs").glob("*.yaml")):
        load_hardware(path)
    for path in sorted((REPO / "hw_configs/energy").glob("*.yaml")):
        load_yaml(path)
