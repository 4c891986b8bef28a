"""SCALE-Sim (scalesim-project/scale-sim-v3) inputs: the topology CSV and the ``.cfg`` architecture
file, turned into an archsim trace and a ``systolic`` hardware description.

Topology CSV, convolution form (first line a header)::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
    Conv1, 224, 224, 7, 7, 3, 64, 2,

GEMM form (header ``Layer, M, N, K``): ``O[M x N] = A[M x K] @ B[K x N]``. An optional field after
the shape is an ``N:M`` sparsity ratio (kept as the tag ``scalesim_sparsity``; the dense model
does not use it); further columns are ignored. A row whose name contains ``DP`` is a depthwise
layer, as in SCALE-Sim: one filter group per channel (``groups = Channels``).

SCALE-Sim applies no padding and takes ``ceil((H - R + s) / s)`` output rows, one more than the
usual ``(H - R) // s + 1`` when the stride does not divide ``H - R`` (a last window that runs past
the edge). The importer reproduces SCALE-Sim's output size by adding ``ceil(d / 2)`` rows of zero
padding, ``d = (E - 1) * s + R - H``, so the GEMM view (and so every cycle count) is SCALE-Sim's.
See docs/models/systolic.md, "SCALE-Sim compatibility".
"""
from __future__ import annotations

import configparser
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archsim.errors import ConfigError, TraceError

CONV_COLUMNS = ("IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels",
                "Num Filter", "Strides")
GEMM_COLUMNS = ("M", "N", "K")
_SPARSITY = re.compile(r"^\d+\s*:\s*\d+$")


@dataclass(frozen=True)
class TopologyLayer:
    """One row of a topology CSV (``line``: its line number in the file)."""

    name: str
    line: int
    shape: tuple[int, ...]          # the CONV_COLUMNS or the GEMM_COLUMNS, in file order
    gemm: bool
    sparsity: str | None = None

    @property
    def depthwise(self) -> bool:
        return not self.gemm and "DP" in self.name

    def as_dict(self) -> dict[str, int]:
        return dict(zip(GEMM_COLUMNS if self.gemm else CONV_COLUMNS, self.shape))


@dataclass(frozen=True)
class Topology:
    path: Path
    gemm: bool
    layers: list[TopologyLayer]

    @property
    def name(self) -> str:
        return self.path.stem


def read_topology(path: str | Path, gemm: bool | None = None) -> Topology:
    """Parse a SCALE-Sim topology CSV. ``gemm``: the form; None = from the header (``M, N, K``
    after the name means GEMM). Raises TraceError naming the file, line and column."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot read the topology: {exc}") from None
    rows = [(i + 1, [f.strip() for f in line.split(",")]) for i, line in enumerate(text.splitlines())]
    rows = [(n, f) for n, f in rows if any(f)]           # blank lines and rows of bare commas
    if not rows:
        raise TraceError(f"{path}: empty topology (expected a header line and one row per layer)")
    header_line, header = rows[0]
    if gemm is None:
        gemm = [h.lower() for h in header[1:4]] == ["m", "n", "k"]
    columns = GEMM_COLUMNS if gemm else CONV_COLUMNS
    layers, seen = [], {}
    for n, fields in rows[1:]:
        while fields and not fields[-1]:                  # the trailing comma SCALE-Sim requires
            fields.pop()
        where = f"{path}:{n}"
        if len(fields) < 1 + len(columns):
            raise TraceError(f"{where}: expected {1 + len(columns)} comma-separated fields (layer name, "
                             f"{', '.join(columns)}), got {len(fields)}: {','.join(fields)!r}")
        name = fields[0]
        if not name:
            raise TraceError(f"{where}: layer name is empty")
        shape = []
        for col, value in zip(columns, fields[1:1 + len(columns)]):
            try:
                number = int(value)
            except ValueError:
                raise TraceError(f"{where}: {name}: {col}: expected a positive integer, got {value!r}") from None
            if number < 1:
                raise TraceError(f"{where}: {name}: {col}: expected a positive integer, got {number}")
            shape.append(number)
        extra = fields[1 + len(columns):]
        sparsity = extra[0].replace(" ", "") if extra and _SPARSITY.match(extra[0]) else None
        if not gemm:
            H, W, R, S = shape[:4]
            if R > H or S > W:
                raise TraceError(f"{where}: {name}: the {R}x{S} filter is larger than the {H}x{W} IFMAP")
        # SCALE-Sim allows repeated names; trace op ids must be unique
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}_{seen[name]}"
        layers.append(TopologyLayer(name=name, line=n, shape=tuple(shape), gemm=gemm, sparsity=sparsity))
    if not layers:
        raise TraceError(f"{path}: no layers after the header line {header_line}")
    return Topology(path=path, gemm=gemm, layers=layers)


def scalesim_padding(size: int, kernel: int, stride: int) -> int:
    """Zero padding per side that makes the usual output size equal SCALE-Sim's
    ``ceil((size - kernel + stride) / stride)``."""
    out = -(-(size - kernel + stride) // stride)
    return math.ceil(((out - 1) * stride + kernel - size) / 2)


def topology_to_trace(topology: Topology, *, input_bits: int = 8, weight_bits: int = 8,
                      output_bits: int = 8):
    """One op per topology row: ``conv2d`` (conv form) or ``linear`` (GEMM form), each an
    independent layer (SCALE-Sim topologies have no graph). Bits default to SCALE-Sim's 1-byte
    words."""
    from archsim.trace.builder import TraceBuilder
    from archsim.trace.schema import Header, Provenance, Role

    header = Header(
        model=topology.name, source=f"SCALE-Sim topology CSV {topology.path.name}",
        provenance=Provenance(weights="shape_only", inputs="none", notes=(
            "layer shapes imported from a SCALE-Sim topology CSV; no tensors. SCALE-Sim conventions: "
            "IFMAP sizes as given (no padding), output size ceil((H - R + s) / s); rows where that "
            "differs from (H - R) // s + 1 get zero padding so the GEMM view matches SCALE-Sim's")),
        config={"scalesim_topology": topology.path.name, "gemm": topology.gemm},
        created_by="archsim import scalesim")
    b = TraceBuilder(header)
    for layer in topology.layers:
        tags: dict[str, Any] = {"scalesim_line": layer.line}
        if layer.sparsity:
            tags["scalesim_sparsity"] = layer.sparsity
        try:
            if layer.gemm:
                M, N, K = layer.shape
                b.add("linear", layer.name, inputs=[], tokens=M, in_features=K, out_features=N, tags=tags,
                      operands=[b.operand("input", Role.activation, shape=[M, K], bits=input_bits),
                                b.operand("weight", Role.static_weight, shape=[N, K], bits=weight_bits)],
                      output=b.operand("output", Role.activation, shape=[M, N], bits=output_bits))
                continue
            H, W, R, S, C, F, s = layer.shape
            groups = C if layer.depthwise else 1
            out_ch = F * groups
            ph, pw = scalesim_padding(H, R, s), scalesim_padding(W, S, s)
            eh, ew = -(-(H - R + s) // s), -(-(W - S + s) // s)
            if ph or pw:
                tags["scalesim_partial_windows"] = True
            b.add("conv2d", layer.name, inputs=[], batch=1, in_channels=C, out_channels=out_ch, in_h=H, in_w=W,
                  kernel_h=R, kernel_w=S, stride_h=s, stride_w=s, pad_h=ph, pad_w=pw, groups=groups, tags=tags,
                  operands=[b.operand("input", Role.activation, shape=[1, C, H, W], bits=input_bits),
                            b.operand("weight", Role.static_weight, shape=[out_ch, C // groups, R, S],
                                      bits=weight_bits)],
                  output=b.operand("output", Role.activation, shape=[1, out_ch, eh, ew], bits=output_bits))
        except TraceError as exc:
            raise TraceError(f"{topology.path}:{layer.line}: {exc}") from None
    return b.build()


# -- the .cfg architecture file -----------------------------------------------------------------

@dataclass(frozen=True)
class ScaleSimConfig:
    path: Path
    run_name: str
    rows: int
    cols: int
    ifmap_sram_kb: int
    filter_sram_kb: int
    ofmap_sram_kb: int
    dataflow: str
    interface_bandwidth: str               # CALC (no stalls) or USER
    bandwidth_words_per_cycle: list[int]   # [architecture_presets] Bandwidth (USER: [0] is the ofmap's)
    ifmap_bank_bandwidth: int = 10         # [layout] IfmapSRAMBankBandwidth: USER-mode ifmap DRAM words/cycle
    filter_bank_bandwidth: int = 10        # [layout] FilterSRAMBankBandwidth: USER-mode filter DRAM words/cycle
    ignored: list[str] = field(default_factory=list)   # settings that change SCALE-Sim's numbers, not modelled
    notes: list[str] = field(default_factory=list)     # settings read and found to change nothing


# Every key SCALE-Sim 3.0.0 reads (configparser lower-cases them), and what archsim does with it.
# "params": mapped onto the hardware YAML; "inert": read by SCALE-Sim but without effect on any
# figure it reports in the runs archsim reproduces (reasons in docs/models/systolic.md);
# "checked": changes SCALE-Sim's numbers when set to a value archsim does not model (then listed in
# ``ignored`` and printed by the importer).
CFG_KEYS = {
    "general": {"run_name": "params"},
    "run_presets": {"interfacebandwidth": "params", "useramulatortrace": "checked"},
    "architecture_presets": {
        "arrayheight": "params", "arraywidth": "params", "ifmapsramszkb": "params", "filtersramszkb": "params",
        "ofmapsramszkb": "params", "dataflow": "params", "bandwidth": "params",
        "ifmapoffset": "inert", "filteroffset": "inert", "ofmapoffset": "inert",
        "readrequestbuffer": "inert", "writerequestbuffer": "inert", "topologycsvloc": "inert"},
    "layout": {
        "ifmapcustomlayout": "checked", "filtercustomlayout": "checked",
        "ifmapsrambankbandwidth": "params", "filtersrambankbandwidth": "params",
        "ifmapsrambanknum": "inert", "ifmapsrambankport": "inert",
        "filtersrambanknum": "inert", "filtersrambankport": "inert"},
    "sparsity": {"sparsitysupport": "checked", "sparserep": "inert", "optimizedmapping": "inert",
                 "blocksize": "inert", "randomnumbergeneratorseed": "inert", "nonzeroelems": "inert"},
    "network_presets": {"topologycsvloc": "inert"},
}


def read_config(path: str | Path) -> ScaleSimConfig:
    """Parse a SCALE-Sim ``.cfg`` (INI) file. Raises ConfigError naming the file, line and key;
    settings archsim does not model are listed in ``ignored``, unknown keys too."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise ConfigError(f"{path}: not a valid SCALE-Sim .cfg (INI) file: {' '.join(str(exc).split())}") from None

    def where(section: str, key: str | None = None) -> str:
        return f"{path}:{_line_of(text, section, key)}"

    def get(section: str, key: str, default: str | None = None) -> str:
        if parser.has_option(section, key):
            return parser.get(section, key).strip()
        if default is not None:
            return default
        missing = "section is missing" if not parser.has_section(section) else "required key is missing"
        raise ConfigError(f"{where(section)}: [{section}] {key}: {missing}")

    def positive(section: str, key: str, default: str | None = None) -> int:
        value = get(section, key, default)
        try:
            number = int(value)
        except ValueError:
            number = 0
        if number < 1:
            raise ConfigError(f"{where(section, key)}: [{section}] {key}: expected a positive integer, got {value!r}")
        return number

    ignored, notes = [], []
    for section in parser.sections():
        known = CFG_KEYS.get(section.lower())
        if known is None:
            ignored.append(f"[{section}] (unknown section: {', '.join(parser.options(section))} not read)")
            continue
        for key in parser.options(section):
            if key not in known:
                ignored.append(f"[{section}] {key} (unknown key, not read)")

    arch = "architecture_presets"
    dataflow = get(arch, "Dataflow").lower()
    if dataflow not in ("ws", "os", "is"):
        raise ConfigError(f"{where(arch, 'Dataflow')}: [{arch}] Dataflow: expected ws, os or is, got {dataflow!r}")
    mode = get("run_presets", "InterfaceBandwidth").upper()
    if mode not in ("CALC", "USER"):
        raise ConfigError(f"{where('run_presets', 'InterfaceBandwidth')}: [run_presets] InterfaceBandwidth: "
                          f"expected CALC or USER, got {mode!r}")
    bandwidth: list[int] = []
    ifmap_bw = filter_bw = 10
    if mode == "USER":
        raw = get(arch, "Bandwidth")
        try:
            bandwidth = [int(x) for x in raw.split(",")]
        except ValueError:
            bandwidth = []
        if not bandwidth or min(bandwidth) < 1:
            raise ConfigError(f"{where(arch, 'Bandwidth')}: [{arch}] Bandwidth: expected positive integers "
                              f"(words per cycle), got {raw!r}")
        if len(bandwidth) > 1:
            notes.append(f"Bandwidth = {bandwidth}: SCALE-Sim 3.0.0 reads only the first value (the ofmap "
                         "channel); the others change nothing")
        # SCALE-Sim's USER mode takes the ifmap and filter DRAM bandwidths from the bank bandwidths
        ifmap_bw = positive("layout", "IfmapSRAMBankBandwidth")
        filter_bw = positive("layout", "FilterSRAMBankBandwidth")
    elif parser.has_option(arch, "Bandwidth"):
        notes.append("Bandwidth: not read in CALC mode (SCALE-Sim uses 10 words/cycle for the first ifmap and "
                     "filter fills and the array width for the ofmap)")
    if get("sparsity", "SparsitySupport", "false").lower() == "true":
        ignored.append("SparsitySupport = true (archsim's systolic model is dense)")
    if get("run_presets", "UseRamulatorTrace", "false").lower() == "true":
        ignored.append("UseRamulatorTrace = True (no Ramulator DRAM latencies)")
    for key in ("IfmapCustomLayout", "FilterCustomLayout"):
        if get("layout", key, "false").lower() == "true":
            ignored.append(f"{key} = True (SRAM bank layouts are not modelled)")
    return ScaleSimConfig(
        path=path, run_name=get("general", "run_name", path.stem) or path.stem,
        rows=positive(arch, "ArrayHeight"), cols=positive(arch, "ArrayWidth"),
        ifmap_sram_kb=positive(arch, "IfmapSramSzkB"), filter_sram_kb=positive(arch, "FilterSramSzkB"),
        ofmap_sram_kb=positive(arch, "OfmapSramSzkB"), dataflow=dataflow, interface_bandwidth=mode,
        bandwidth_words_per_cycle=bandwidth, ifmap_bank_bandwidth=ifmap_bw, filter_bank_bandwidth=filter_bw,
        ignored=ignored, notes=notes)


def _line_of(text: str, section: str, key: str | None) -> int:
    """Line number of ``key`` in ``[section]`` (or of the section header; 1 if absent)."""
    in_section, section_line = False, 1
    for i, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[] ") == section
            if in_section:
                section_line = i
            continue
        if in_section and key and re.match(rf"{re.escape(key)}\s*[:=]", stripped, re.IGNORECASE):
            return i
    return section_line


def default_energy_table() -> Path | None:
    """``hw_configs/energy/systolic_45nm.yaml`` of a source checkout (None when not found)."""
    import archsim
    path = Path(archsim.__file__).resolve().parents[1] / "hw_configs" / "energy" / "systolic_45nm.yaml"
    return path if path.is_file() else None


def config_to_hardware_yaml(cfg: ScaleSimConfig, out_path: str | Path, *, energy_table: str | Path,
                            clock_mhz: float = 1000.0, bits: int = 8, dram_model: str = "scalesim") -> str:
    """The text of a ``systolic`` hardware YAML equivalent to ``cfg``, to be written at
    ``out_path``. ``energy_table`` is referenced relative to ``out_path`` (the importer copies the
    table beside the YAML, so that the pair survives a move). SCALE-Sim has no clock: cycle counts
    do not depend on ``clock_mhz``. ``dram_model``: ``scalesim`` replays SCALE-Sim's buffers
    (its DRAM counts and stalls exactly), ``reuse`` uses archsim's closed-form reuse model; in USER
    mode the per-operand bandwidths (words of 1 byte per cycle) become ``dram_bytes_per_cycle``."""
    import yaml

    out_dir = Path(out_path).resolve().parent
    table = Path(os.path.relpath(Path(energy_table).resolve(), out_dir)).as_posix()
    sizes = {"ifmap_sram_kib": cfg.ifmap_sram_kb, "filter_sram_kib": cfg.filter_sram_kb,
             "ofmap_sram_kib": cfg.ofmap_sram_kb}
    per_operand = None
    if cfg.interface_bandwidth == "USER":
        per_operand = {"ifmap": cfg.ifmap_bank_bandwidth, "filter": cfg.filter_bank_bandwidth,
                       "ofmap": cfg.bandwidth_words_per_cycle[0]}
    data = {
        "architecture": "systolic",
        "name": cfg.run_name,
        "description": (f"imported from SCALE-Sim config {cfg.path.name}: {cfg.rows}x{cfg.cols} "
                        f"{cfg.dataflow.upper()}, {cfg.ifmap_sram_kb}/{cfg.filter_sram_kb}/{cfg.ofmap_sram_kb} KB "
                        f"ifmap/filter/ofmap SRAM, InterfaceBandwidth {cfg.interface_bandwidth}"),
        "clock_mhz": clock_mhz,
        "technology_nm": 45,
        "energy": {"tables": [table], "variables": dict(sizes)},
        "params": {"rows": cfg.rows, "cols": cfg.cols, "dataflow": cfg.dataflow, **sizes,
                   "dram_model": dram_model, "dram_bytes_per_cycle": per_operand,
                   "pe_input_bits": bits, "pe_weight_bits": bits, "output_bits": bits},
    }
    notes = [f"# Imported by `archsim import scalesim` from {cfg.path.name}.",
             "# SCALE-Sim has no clock; cycle counts do not depend on clock_mhz.",
             "# InterfaceBandwidth CALC -> dram_bytes_per_cycle null (no DRAM stalls); USER -> ifmap",
             "# IfmapSRAMBankBandwidth, filter FilterSRAMBankBandwidth, ofmap Bandwidth[0] (1-byte words)."]
    notes += [f"# Not modelled: {item}" for item in cfg.ignored]
    notes += [f"# Note: {item}" for item in cfg.notes]
    return "\n".join(notes) + "\n" + yaml.safe_dump(data, sort_keys=False)
