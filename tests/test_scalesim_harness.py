"""Differential harness against SCALE-Sim 3.0.0 over its parameter space (peer-tool output).

tools/scalesim_golden/random_goldens.json holds SCALE-Sim's own reports for random valid
configurations (tools/scalesim_golden/random_configs.py draws them from a seed; run_random.py ran
SCALE-Sim on them): arrays 1-256 rows and columns, SRAMs of 1 KB - 4 MB each, IS/WS/OS, CALC and
USER bandwidth modes with per-operand bandwidths, conv and GEMM layers with odd channels, strides,
1x1, depthwise rows and windows past the edge.

Two levels, every figure SCALE-Sim reports:

* ``archsim.arch.systolic_scalesim.replay`` (SCALE-Sim's buffers replayed on the request streams)
  against every column of SCALE-Sim's three reports, per SCALE-Sim layer: integers exactly,
  floats to 1e-9;
* the way a user goes: the recorded .cfg and topology imported with ``archsim import scalesim``
  (``dram_model: scalesim``) and simulated; per op: cycles, stall cycles, total cycles incl.
  prefetch, SRAM reads and writes, DRAM reads and writes per operand, utilisation, mapping
  efficiency and compute utilisation, against the sums of SCALE-Sim's layers.
"""
import json
import math
from collections import defaultdict
from pathlib import Path

import pytest

from archsim.arch.systolic_scalesim import Geometry, Memory, replay
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.importers.scalesim import config_to_hardware_yaml, read_config, read_topology, topology_to_trace

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tools" / "scalesim_golden" / "random_goldens.json"
DOC = json.loads(GOLDEN.read_text())
COLUMNS = DOC["columns"]
CASES = DOC["cases"]


def scalesim_layers(case):
    """(topology row name, Geometry) per SCALE-Sim layer: a depthwise row is one layer per channel."""
    out = []
    for L in case["layers"]:
        if case["gemm"]:
            out.append((L["name"], Geometry.gemm(L["M"], L["K"], L["N"])))
            continue
        s = L["stride"]
        dp = "DP" in L["name"]
        g = Geometry(H=L["H"], W=L["W"], C=1 if dp else L["C"], Fh=L["Fh"], Fw=L["Fw"], stride_h=s, stride_w=s,
                     Eh=-(-(L["H"] - L["Fh"] + s) // s), Ew=-(-(L["W"] - L["Fw"] + s) // s), N=L["N"])
        out += [(L["name"], g)] * (L["C"] if dp else 1)
    return out


def memory(cfg):
    user = cfg["mode"] == "USER"
    return Memory(cfg["ifmap_kb"] * 1024, cfg["filter_kb"] * 1024, cfg["ofmap_kb"] * 1024,
                  mode="user" if user else "calc",
                  ifmap_bw=cfg["ifmap_bank_bw"] if user else 10, filter_bw=cfg["filter_bank_bw"] if user else 10,
                  ofmap_bw=cfg["bandwidth"][0] if user else None)


def same(ours, theirs) -> bool:
    if isinstance(theirs, float) or isinstance(ours, float):
        return math.isclose(float(ours), float(theirs), rel_tol=1e-9, abs_tol=1e-12)
    return int(ours) == int(theirs)


def test_goldens_cover_the_parameter_space():
    """At least 150 configurations, spread over what the issue names."""
    cfgs = [c["cfg"] for c in CASES]
    assert len(CASES) >= 150
    assert {c["dataflow"] for c in cfgs} == {"ws", "os", "is"} and {c["mode"] for c in cfgs} == {"CALC", "USER"}
    assert sum(c["rows"] != c["cols"] for c in cfgs) >= 100
    assert min(c["rows"] for c in cfgs) == 1 or min(c["cols"] for c in cfgs) == 1
    assert max(max(c["rows"], c["cols"]) for c in cfgs) >= 200
    kb = [c[k] for c in cfgs for k in ("ifmap_kb", "filter_kb", "ofmap_kb")]
    assert min(kb) <= 2 and max(kb) >= 2048
    conv = [L for c in CASES if not c["gemm"] for L in c["layers"]]
    assert any(L["C"] % 2 and L["C"] > 1 for L in conv) and any("DP" in L["name"] for L in conv)
    assert any(L["Fh"] == 1 and L["stride"] > 1 for L in conv)
    assert any((L["H"] - L["Fh"]) % L["stride"] for L in conv)           # a window past the edge
    assert sum(c["gemm"] for c in CASES) >= 30


def sampled(cases, every=4, backend=None):
    """Every ``every``-th case in the default suite, all of them with ``-m slow``."""
    out = []
    for i, c in enumerate(cases):
        args = (c, backend) if backend else (c,)
        ident = f"seed{c['seed']}" + (f"-{backend}" if backend else "")
        out.append(pytest.param(*args, id=ident, marks=() if i % every == 0 else pytest.mark.slow))
    return out


# the Numba kernel on every case; its plain numpy / Python reference (the specification) on every
# fifth, so that both are held to SCALE-Sim's numbers
BACKEND_CASES = sampled(CASES, backend="numba") + sampled(CASES[::5], backend="reference")


@pytest.mark.parametrize("case,backend", BACKEND_CASES)
def test_replay_is_scalesim(case, backend):
    cfg = case["cfg"]
    mem = memory(cfg)
    layers = scalesim_layers(case)
    assert len(layers) == len(case["results"])
    for (name, g), row in zip(layers, case["results"]):
        ours = replay(cfg["dataflow"], cfg["rows"], cfg["cols"], g, mem, backend=backend)
        bad = [(k, ours[k], v) for k, v in zip(COLUMNS, row) if not same(ours[k], v)]
        assert not bad, f"seed {case['seed']} {name}: {bad}"


@pytest.mark.parametrize("case", sampled(CASES))
def test_imported_and_simulated_is_scalesim(case, tmp_path):
    cfg_path = tmp_path / "arch.cfg"
    cfg_path.write_text(case["cfg_text"])
    topo = tmp_path / "net.csv"
    topo.write_text(case["topology_text"])
    hw_path = tmp_path / "arch.yaml"
    hw_path.write_text(config_to_hardware_yaml(read_config(cfg_path), hw_path,
                                               energy_table=REPO / "hw_configs/energy/systolic_45nm.yaml"))
    hw = load_hardware(hw_path)
    ops = simulate(topology_to_trace(read_topology(topo, gemm=case["gemm"])), hw).ops.set_index("op_id")
    by_row = defaultdict(list)
    for (name, _), row in zip(scalesim_layers(case), case["results"]):
        by_row[name].append(dict(zip(COLUMNS, row)))
    assert list(ops.index) == list(by_row)
    R, C, df = case["cfg"]["rows"], case["cfg"]["cols"], case["cfg"]["dataflow"]
    for name, layers in by_row.items():
        op = ops.loc[name]
        tot = lambda key: sum(layer[key] for layer in layers)  # noqa: E731
        where = f"seed {case['seed']} {name}"
        assert op.cycles == tot("Total Cycles"), where
        assert op.stall_cycles == tot("Stall Cycles"), where
        assert op.total_cycles_incl_prefetch == tot("Total Cycles (incl. prefetch)"), where
        assert op.ifmap_sram_reads == tot("SRAM IFMAP Reads"), where
        assert op.filter_sram_reads == tot("SRAM Filter Reads"), where
        # SCALE-Sim's OS class adds rows + cols per fold to its ofmap writes (docs/models/systolic.md)
        artefact = op.folds * (R + C) if df == "os" else 0
        assert op.ofmap_sram_writes + artefact == tot("SRAM OFMAP Writes"), where
        assert op.dram_ifmap_read_bytes == tot("DRAM IFMAP Reads"), where          # 1-byte words
        assert op.dram_filter_read_bytes == tot("DRAM Filter Reads"), where
        assert op.dram_ofmap_write_bytes == tot("DRAM OFMAP Writes"), where
        first = layers[0]                       # the layers of a depthwise row are identical
        assert op.utilization * 100 == pytest.approx(first["Overall Util %"], rel=1e-12), where
        assert op.mapping_efficiency * 100 == pytest.approx(first["Mapping Efficiency %"], rel=1e-12), where
        assert op.compute_utilization * 100 == pytest.approx(first["Compute Util %"], rel=1e-12), where


def test_kernel_equals_reference_on_edge_cases():
    """Kernel against its reference beyond the goldens: batch and dilation (SCALE-Sim has neither),
    a 1x1 array, an ofmap buffer small enough to stall CALC mode, USER mode with 1-word lines."""
    cases = [
        ("ws", 3, 5, Geometry(H=9, W=7, C=3, Fh=3, Fw=2, stride_h=2, stride_w=1, Eh=4, Ew=6, N=7, images=2,
                              dilation_h=2, dilation_w=1), Memory(1024, 2048, 1024)),
        ("os", 1, 1, Geometry.gemm(5, 7, 3), Memory(1024, 1024, 1024)),
        ("is", 4, 4, Geometry.gemm(40, 30, 20), Memory(1024, 1024, 1024, mode="user", ifmap_bw=1, filter_bw=1, ofmap_bw=1)),
        ("ws", 16, 2, Geometry.gemm(300, 50, 9), Memory(1024, 1024, 1024)),
    ]
    for df, R, C, g, mem in cases:
        assert replay(df, R, C, g, mem) == replay(df, R, C, g, mem, backend="reference"), (df, R, C, g, mem)


def test_generators_write_the_recorded_cfg_files(monkeypatch):
    """Our own record: the golden generators (make_golden.py for the fixed cases, random_configs.py
    for the random ones, both through tools/scalesim_golden/scalesim_cfg.py) still write the exact
    .cfg and layout texts recorded with every golden SCALE-Sim ran on."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(GOLDEN.parent))
    for name in ("scalesim_cfg", "random_configs", "make_golden"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    rc, mg = importlib.import_module("random_configs"), importlib.import_module("make_golden")
    for case in CASES:
        assert rc.cfg_text(case) == case["cfg_text"], case["seed"]
    fixed = sorted((REPO / "tests" / "golden" / "scalesim").glob("*.json"))
    assert fixed
    for path in fixed:
        h = json.loads(path.read_text())["header"]
        cfg = mg.case_cfg(h["case"], h["dataflow"], h["array_rows"], h["array_cols"])
        assert mg.scalesim_cfg.cfg_text(cfg) == h["cfg_text"], path.name
        assert mg.LAYOUT_HEADER == h["layout_csv_text"], path.name
