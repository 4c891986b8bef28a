"""SpikeSim (Intelligent-Computing-Lab-Yale/SpikeSim) network lists -> an archsim layer list and an
`imc` hardware YAML of the SpikeSim preset.

SpikeSim's ELA script describes a network by four Python lists and a few scalars::

    in_ch_list = [3, 64, 64, 128, 128, 256, 256]
    out_ch_list = [64, 64, 128, 128, 256, 256, 256]
    in_dim_list = [32, 32, 16, 16, 8, 8, 8]
    out_dim_list = [32, 16, 16, 8, 8, 8, 4]
    xbar_size = 64
    kernel_size = 3
    pe_per_tile = 8
    time_steps = 5
    clk_freq = 250

The importer reads those assignments from such a script (parsed, never executed: only literal
values of these names are taken) or from a YAML / JSON file with the same keys. Each layer becomes
a ``kernel_size`` x ``kernel_size`` conv at SpikeSim's post-pooling sizes (a halved resolution is a
stride-2 conv), padding ``kernel_size // 2``, 4-bit weights (SpikeSim's ELA), spiking inputs, each
followed by a LIF layer. The hardware YAML is the SpikeSim preset of the chosen device
(hw_configs/spikesim_rram_65nm.yaml or spikesim_sram_65nm.yaml: SpikeSim's ELA script takes the
device as an argument of its energy and area functions, not as a network variable) with the
crossbar size, PEs per tile and clock set, and ``accounting: spikesim`` (SpikeSim's bookkeeping,
docs/models/imc.md); its energy table (and the table that one extends) is copied beside it.
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

import yaml

from archsim.errors import TraceError

LISTS = ("in_ch_list", "out_ch_list", "in_dim_list", "out_dim_list")
SCALARS = {"xbar_size": 64, "kernel_size": 3, "pe_per_tile": 8, "time_steps": 5, "clk_freq": 250}


def read_network(path: str | Path) -> tuple[dict, list[str]]:
    """The network lists and scalars of a SpikeSim script or YAML/JSON file, and notes (scalars
    taken from SpikeSim's example because the file does not set them)."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    values: dict = {}
    if path.suffix == ".py":
        try:
            tree = ast.parse(text, filename=str(path))
        except SyntaxError as exc:
            raise TraceError(f"{path}:{exc.lineno}: not a Python file: {exc.msg}") from None
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name in LISTS or name in SCALARS:
                    try:
                        values[name] = ast.literal_eval(node.value)
                    except ValueError:
                        if name in LISTS or name != "clk_freq":
                            raise TraceError(f"{path}:{node.lineno}: {name}: expected a literal value") from None
    else:
        try:
            values = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
        except (yaml.YAMLError, json.JSONDecodeError) as exc:
            raise TraceError(f"{path}: cannot parse: {' '.join(str(exc).split())}") from None
        if not isinstance(values, dict):
            raise TraceError(f"{path}: expected a mapping with {', '.join(LISTS)}")
        unknown = sorted(set(values) - set(LISTS) - set(SCALARS))
        if unknown:
            raise TraceError(f"{path}: unknown keys {unknown} (expected {', '.join(LISTS + tuple(SCALARS))})")
    notes = []
    for name in LISTS:
        v = values.get(name)
        if not isinstance(v, list) or not v or not all(isinstance(x, int) and x > 0 for x in v):
            raise TraceError(f"{path}: {name}: expected a list of positive integers, got {v!r}")
    if len({len(values[n]) for n in LISTS}) != 1:
        raise TraceError(f"{path}: {', '.join(LISTS)} must have the same length")
    for name, default in SCALARS.items():
        if name not in values:
            values[name] = default
            notes.append(f"{name} not set: SpikeSim's example value {default}")
        elif not isinstance(values[name], (int, float)) or values[name] <= 0:
            raise TraceError(f"{path}: {name}: expected a positive number, got {values[name]!r}")
    for i, (ci, co) in enumerate(zip(values["in_ch_list"][1:], values["out_ch_list"][:-1]), start=1):
        if ci != co:
            notes.append(f"layer {i + 1}: in channels {ci} differ from layer {i}'s out channels {co}; "
                         "the layer list takes the in channels from the previous layer")
    return values, notes


def network_to_layer_list(net: dict, name: str = "spikesim-network") -> dict:
    """An archsim layer list (a dict to dump as YAML) of SpikeSim's network lists."""
    k = int(net["kernel_size"])
    layers = []
    for i, (o, di, do) in enumerate(zip(net["out_ch_list"], net["in_dim_list"], net["out_dim_list"])):
        if di % do:
            raise TraceError(f"layer {i + 1}: input size {di} is not a multiple of the output size {do}")
        layers.append({"name": f"conv{i + 1}", "kind": "conv2d", "out_channels": o, "kernel": k,
                       "stride": di // do, "padding": k // 2, "weight": {"bits": 4}})
        layers.append({"name": f"lif{i + 1}", "kind": "lif", "threshold": 1.0, "leak": 0.99})
    return {"model": name, "source": "SpikeSim network lists (archsim import spikesim)", "timesteps": int(net["time_steps"]),
            "input": {"shape": [net["in_ch_list"][0], net["in_dim_list"][0], net["in_dim_list"][0]],
                      "role": "spike", "density": 1.0},
            "layers": layers}


DEVICES = {"rram": "spikesim_rram_65nm.yaml", "sram": "spikesim_sram_65nm.yaml"}   # SpikeSim's two devices


def hardware_yaml(net: dict, preset: Path) -> dict:
    """The SpikeSim preset (its ``extends`` merged in) with the network file's crossbar size, PEs
    per tile and clock."""
    from archsim.config.yaml_loader import load_yaml_unresolved

    doc = load_yaml_unresolved(preset).data
    doc.setdefault("variables", {})["XBAR"] = int(net["xbar_size"])
    doc["params"]["tile"]["pes"] = int(net["pe_per_tile"])
    doc["params"]["accounting"] = "spikesim"
    doc["clock_mhz"] = float(net["clk_freq"])
    doc["energy"]["tables"] = [Path(t).name for t in doc["energy"]["tables"]]
    return doc
