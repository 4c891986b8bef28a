"""SCALE-Sim topology CSV and .cfg import: formats as SCALE-Sim's own example files write them,
bad input with one-line errors, and the `archsim import scalesim` command."""
import json
import os
from pathlib import Path

import pytest
import yaml

from archsim.cli import main
from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.errors import ConfigError, TraceError
from archsim.importers.scalesim import (config_to_hardware_yaml, read_config, read_topology,
                                        scalesim_padding, topology_to_trace)
from tests.helpers import write_file

# Written in the layout of SCALE-Sim's topologies/conv_nets/*.csv: padded columns, a trailing
# comma, a header line; a depthwise row (name with "DP"), and a row whose stride does not divide
# H - R (SCALE-Sim's extra, partial output row).
CONV_CSV = """\
Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
Conv1,  224, 224,    7, 7,      3,      64,     2,
dw_DP,  56, 56,    3, 3,      64,      1,     1,
Conv3,  56, 56,    1, 1,      64,    128,     1,
"""
# topologies/GEMM_mnk/*.csv layout, one row with the optional N:M sparsity field
GEMM_CSV = "Layer,M,N,K,\nL0,196,192,384,\nL1,196,1176,64,2:4,\n"

CFG = """\
[general]
run_name = test_run

[architecture_presets]
ArrayHeight:    8
ArrayWidth:     16
IfmapSramSzkB:   64
FilterSramSzkB:  32
OfmapSramSzkB:   16
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : os
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[sparsity]
SparsitySupport : false

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 6
IfmapSRAMBankNum: 2
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 3
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2
"""


def test_conv_topology(tmp_path):
    """Conv1: SCALE-Sim's output is ceil((224 - 7 + 2) / 2) = 110 (the usual formula gives 109):
    d = 109 * 2 + 7 - 224 = 1 -> one row of padding, and (224 + 2 - 7) // 2 + 1 = 110.
    dw_DP: 64 groups of one channel and one filter. Conv3: no padding."""
    topo = read_topology(write_file(tmp_path, "net.csv", CONV_CSV))
    assert not topo.gemm and [l.name for l in topo.layers] == ["Conv1", "dw_DP", "Conv3"]
    trace = topology_to_trace(topo)
    conv1, dw, conv3 = trace.ops
    assert (conv1.pad_h, conv1.out_h, conv1.gemm.M, conv1.gemm.K) == (1, 110, 110 * 110, 147)
    assert conv1.tags["scalesim_partial_windows"] is True and conv1.operand("input").shape == [1, 3, 224, 224]
    assert (dw.groups, dw.out_channels, dw.gemm.M, dw.gemm.K, dw.gemm.N) == (64, 64, 54 * 54, 9, 1)
    assert (conv3.pad_h, conv3.gemm.M, conv3.gemm.N) == (0, 56 * 56, 128)
    assert all(op.operand("weight").bits == 8 and op.inputs == [] for op in trace.ops)
    assert trace.header.provenance.weights == "shape_only"


def test_gemm_topology_with_sparsity_field(tmp_path):
    topo = read_topology(write_file(tmp_path, "vit.csv", GEMM_CSV))
    assert topo.gemm
    l0, l1 = topology_to_trace(topo).ops
    assert (l0.kind, l0.gemm.M, l0.gemm.K, l0.gemm.N) == ("linear", 196, 384, 192)
    assert l1.tags["scalesim_sparsity"] == "2:4"


def test_lenient_layout_details(tmp_path):
    """A byte-order mark, rows without the trailing comma, blank lines, rows of bare commas and
    repeated names (all in SCALE-Sim's example files) are accepted; a forced form overrides the
    header."""
    text = ("\ufeffLayer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
            "Num Filter, Strides\n,,,,,,,,\n\nres, 19, 19, 3, 3, 17, 256, 1\nres, 19, 19, 3, 3, 256, 256, 1,\n")
    topo = read_topology(write_file(tmp_path, "a.csv", text))
    assert [(l.name, l.line) for l in topo.layers] == [("res", 4), ("res_2", 5)]
    forced = read_topology(write_file(tmp_path, "b.csv", "Layer, rows, cols, depth,\nx, 2, 3, 4,\n"), gemm=True)
    assert forced.gemm and forced.layers[0].shape == (2, 3, 4)


@pytest.mark.parametrize("text,needle", [
    ("Layer,M,N,K,\nq,197,B,64,\n", "bad.csv:2: q: N: expected a positive integer, got 'B'"),
    ("Layer,M,N,K,\nq,197,0,64,\n", "bad.csv:2: q: N: expected a positive integer, got 0"),
    ("Layer,M,N,K,\nAlphaGoZero,\n", "bad.csv:2: expected 4 comma-separated fields"),
    ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
     "c, 5, 5, 7, 7, 3, 8, 1,\n", "bad.csv:2: c: the 7x7 filter is larger than the 5x5 IFMAP"),
    ("Layer\tM\tN\tK\nq\t1\t2\t3\n", "bad.csv:2: expected 8 comma-separated fields"),
    (",,,\n\n", "bad.csv: empty topology"),
    ("Layer,M,N,K,\n", "bad.csv: no layers after the header line 1"),
    ("Layer,M,N,K,\n,1,2,3,\n", "bad.csv:2: layer name is empty"),
])
def test_bad_topology(tmp_path, text, needle):
    with pytest.raises(TraceError) as info:
        read_topology(write_file(tmp_path, "bad.csv", text))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_missing_topology(tmp_path):
    with pytest.raises(TraceError, match="nope.csv: file not found"):
        read_topology(tmp_path / "nope.csv")


def test_padding_reproduces_scalesim_output_size():
    for size in range(7, 40):
        for kernel in (1, 3, 5, 7):
            for stride in (1, 2, 3, 4):
                if kernel > size:
                    continue
                pad = scalesim_padding(size, kernel, stride)
                assert (size + 2 * pad - kernel) // stride + 1 == -(-(size - kernel + stride) // stride)
                assert pad <= (stride - 1 + 1) // 2


def test_config(tmp_path):
    cfg = read_config(write_file(tmp_path, "a.cfg", CFG))
    assert (cfg.run_name, cfg.rows, cfg.cols, cfg.dataflow, cfg.interface_bandwidth) == ("test_run", 8, 16, "os", "CALC")
    assert (cfg.ifmap_sram_kb, cfg.filter_sram_kb, cfg.ofmap_sram_kb) == (64, 32, 16) and cfg.ignored == []
    out = tmp_path / "hw" / "a.yaml"
    out.parent.mkdir()
    table = Path(__file__).resolve().parents[1] / "hw_configs/energy/systolic_45nm.yaml"
    out.write_text(config_to_hardware_yaml(cfg, out, energy_table=table))
    hw = load_hardware(out)
    p = hw.params
    assert (p.rows, p.cols, p.dataflow, p.ifmap_sram_kib, p.filter_sram_kib, p.ofmap_sram_kib) == (8, 16, "os", 64, 32, 16)
    assert p.dram_bandwidth_gbps is None and hw.name == "test_run"
    assert yaml.safe_load(out.read_text())["energy"]["tables"] == [os.path.relpath(table, out.parent)]


def test_user_bandwidth_and_ignored_settings(tmp_path):
    """USER mode: SCALE-Sim 3.0.0 takes the ifmap and filter DRAM bandwidths from the [layout]
    bank bandwidths and the ofmap one from Bandwidth[0] (its single_layer_sim.py); the other
    Bandwidth values are not read (a note), sparsity is not modelled (a warning)."""
    text = CFG.replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER").replace(
        "SparsitySupport : false", "SparsitySupport : true").replace("Bandwidth : 10", "Bandwidth : 10, 20")
    cfg = read_config(write_file(tmp_path, "u.cfg", text))
    assert cfg.bandwidth_words_per_cycle == [10, 20] and any("SparsitySupport" in s for s in cfg.ignored)
    assert any("reads only the first" in n for n in cfg.notes)
    out = tmp_path / "u.yaml"
    out.write_text(config_to_hardware_yaml(cfg, out, energy_table=Path(__file__).resolve().parents[1]
                                           / "hw_configs/energy/systolic_45nm.yaml", clock_mhz=500))
    p = load_hardware(out).params
    assert p.dram_bandwidth_gbps is None and p.dram_model == "scalesim"
    assert (p.dram_bytes_per_cycle.ifmap, p.dram_bytes_per_cycle.filter, p.dram_bytes_per_cycle.ofmap) == (6, 3, 10)
    assert "# Not modelled: SparsitySupport" in out.read_text()


def test_unknown_keys_are_listed(tmp_path):
    """A key or section the importer does not know is never dropped silently."""
    text = CFG.replace("Dataflow : os", "Dataflow : os\nMagicKnob: 3") + "\n[extras]\nfoo = 1\n"
    cfg = read_config(write_file(tmp_path, "k.cfg", text))
    assert any("magicknob" in s and "unknown key" in s for s in cfg.ignored)
    assert any("[extras]" in s and "unknown section" in s for s in cfg.ignored)


@pytest.mark.parametrize("edit,needle", [
    (("ArrayHeight:    8\n", ""), "a.cfg:4: [architecture_presets] ArrayHeight: required key is missing"),
    (("Dataflow : os", "Dataflow : rs"), "a.cfg:14: [architecture_presets] Dataflow: expected ws, os or is, got 'rs'"),
    (("ArrayWidth:     16", "ArrayWidth: -2"), "a.cfg:6: [architecture_presets] ArrayWidth: expected a positive integer"),
    (("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST"), "InterfaceBandwidth: expected CALC or USER, got 'FAST'"),
    (("Bandwidth : 10\n", ""), "a.cfg:4: [architecture_presets] Bandwidth: required key is missing"),
    (("[run_presets]\nInterfaceBandwidth: CALC\n", ""), "[run_presets] InterfaceBandwidth: section is missing"),
    (("Bandwidth : 10", "Bandwidth : x"), "a.cfg:13: [architecture_presets] Bandwidth: expected positive integers"),
    (("[general]", "general"), "a.cfg: not a valid SCALE-Sim .cfg (INI) file"),
])
def test_bad_config(tmp_path, edit, needle):
    text = CFG.replace(*edit).replace("InterfaceBandwidth: CALC", "InterfaceBandwidth: USER")
    with pytest.raises(ConfigError) as info:
        read_config(write_file(tmp_path, "a.cfg", text))
    assert needle in str(info.value) and "\n" not in str(info.value)


# -- the command ---------------------------------------------------------------------------------

def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_import_then_simulate(capsys, tmp_path):
    topo, cfg = write_file(tmp_path, "net.csv", CONV_CSV), write_file(tmp_path, "arch.cfg", CFG)
    out = tmp_path / "imported"
    code, stdout, _ = run(capsys, "import", "scalesim", "--topology", str(topo), "--config", str(cfg), "-o", str(out))
    assert code == 0 and "net.trace (3 ops, conv form)" in stdout and "8x16 OS" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["arch.yaml", "net.trace", "systolic_45nm.yaml"]
    res = tmp_path / "res"
    code, _, _ = run(capsys, "simulate", "--hw", str(out / "arch.yaml"), "--trace", str(out / "net.trace"),
                     "-o", str(res), "--quiet")
    assert code == 0
    # the CSV is also accepted directly as a trace
    code, _, _ = run(capsys, "simulate", "--hw", str(out / "arch.yaml"), "--trace", str(topo),
                     "-o", str(tmp_path / "res_csv"), "--quiet")
    assert code == 0
    a, b = (json.loads((d / "summary.json").read_text()) for d in (res, tmp_path / "res_csv"))
    assert a["cycles"] == b["cycles"] == simulate(topology_to_trace(read_topology(topo)),
                                                  load_hardware(out / "arch.yaml"))["cycles"]


def test_imported_folder_survives_a_move(capsys, tmp_path):
    """The energy table is copied beside the hardware YAML, which names it relative to itself."""
    topo, cfg = write_file(tmp_path, "net.csv", CONV_CSV), write_file(tmp_path, "arch.cfg", CFG + "[odd]\nx = 1\n")
    out = tmp_path / "imported"
    code, stdout, _ = run(capsys, "import", "scalesim", "--topology", str(topo), "--config", str(cfg), "-o", str(out))
    assert code == 0 and "warning: not modelled: [odd]" in stdout
    moved = tmp_path / "elsewhere" / "deeper"
    moved.parent.mkdir()
    out.rename(moved)
    assert yaml.safe_load((moved / "arch.yaml").read_text())["energy"]["tables"] == ["systolic_45nm.yaml"]
    code, _, _ = run(capsys, "simulate", "--hw", str(moved / "arch.yaml"), "--trace", str(moved / "net.trace"),
                     "-o", str(tmp_path / "res"), "--quiet")
    assert code == 0


def test_cli_bad_input_leaves_nothing(capsys, tmp_path):
    topo = write_file(tmp_path, "net.csv", CONV_CSV)
    bad_cfg = write_file(tmp_path, "bad.cfg", CFG.replace("Dataflow : os", "Dataflow : rs"))
    out = tmp_path / "imported"
    code, _, err = run(capsys, "import", "scalesim", "--topology", str(topo), "--config", str(bad_cfg), "-o", str(out))
    assert code == 2 and err.startswith("archsim: error:") and "bad.cfg:14" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
    code, _, err = run(capsys, "import", "scalesim", "-o", str(out))
    assert code == 2 and "--topology" in err and not out.exists()


@pytest.mark.slow
def test_scalesim_repository_examples(tmp_path):
    """Every topology and config of a SCALE-Sim v3 checkout (set SCALESIM_REPO) imports, or fails
    with a one-line error naming the file and line. Files SCALE-Sim itself cannot parse (section
    labels, tab-separated, symbolic sizes) are listed in docs/models/systolic.md."""
    root = os.environ.get("SCALESIM_REPO")
    if not root:
        pytest.skip("set SCALESIM_REPO to a scale-sim-v3 checkout")
    root = Path(root)
    for csv in sorted((root / "topologies").rglob("*.csv")):
        try:
            topology_to_trace(read_topology(csv))
        except TraceError as exc:
            assert str(csv) in str(exc) and "\n" not in str(exc)
    for cfg in sorted((root / "configs").glob("*.cfg")):
        read_config(cfg)
