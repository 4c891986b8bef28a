"""The sandbox every hardening test starts from, and the bad inputs of issue 18 as a table."""
from __future__ import annotations

import io
import json
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tests.hardening.harness import REPO

HW = "hw.yaml"
TRACE = "t.trace"
LAYERS = "layers.yaml"
SPEC = "sweep.yaml"


def make_sandbox(box: Path) -> Path:
    """hw.yaml + energy/ (the example MAC array), layers.yaml (the tiny SNN), t.trace (a linear
    layer with a stored float weight) and sweep.yaml (a 2-point grid)."""
    from archsim.trace.schema import Role
    from tests.helpers import builder

    (box / "energy").mkdir(parents=True)
    shutil.copy(REPO / "hw_configs/mac_array_example.yaml", box / HW)
    shutil.copy(REPO / "hw_configs/energy/example_45nm.yaml", box / "energy/example_45nm.yaml")
    shutil.copy(REPO / "examples/tiny_snn.yaml", box / LAYERS)
    b = builder(T=1)
    w = b.operand("weight", Role.static_weight, data=np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8), bits=16)
    x = b.operand("input", Role.activation, shape=[1, 8], bits=8)
    b.add("linear", "fc", operands=[x, w], tokens=1, in_features=8, out_features=4)
    b.build().save(box / TRACE)
    (box / SPEC).write_text(f"name: s\nhardware: {HW}\ntraces: [{LAYERS}]\n"
                            "sweep:\n  grid:\n    params.rows: [4, 8]\n")
    return box


# ----------------------------------------------------------------------------- mutations

def edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(box: Path) -> None:
        p = box / name
        text = p.read_text()
        assert old in text, (name, old)
        p.write_text(text.replace(old, new, 1))
    return apply


def variable(expr: str) -> Callable[[Path], None]:
    return edit(HW, "  ARRAY: 16", f"  ARRAY: {json.dumps(expr)}")


def write(name: str, text: str) -> Callable[[Path], None]:
    def apply(box: Path) -> None:
        (box / name).parent.mkdir(parents=True, exist_ok=True)
        (box / name).write_text(text)
    return apply


def rewrite_trace(manifest: Callable[[dict], None] | None = None,
                  entries: Callable[[dict], dict] | None = None) -> Callable[[Path], None]:
    """Change t.trace's manifest (in place) and/or its entries (name -> bytes)."""
    def apply(box: Path) -> None:
        path = box / TRACE
        with zipfile.ZipFile(path) as zf:
            items = {n: zf.read(n) for n in zf.namelist()}
        data = json.loads(items["manifest.json"])
        if manifest is not None:
            manifest(data)
            items["manifest.json"] = json.dumps(data).encode()
        if entries is not None:
            items.update(entries(data))
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for n, b in items.items():
                zf.writestr(n, b)
    return apply


def npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def weight_key(data: dict) -> str:
    return next(iter(data["tensors"]))


def weight_values(values: np.ndarray) -> Callable[[Path], None]:
    return rewrite_trace(entries=lambda d: {f"tensors/{weight_key(d)}.npy": npy(values)})


def bad_weight(value: float) -> Callable[[Path], None]:
    w = np.ones((4, 8), dtype=np.float32)
    w[2, 3] = value
    return weight_values(w)


def tensor_shape(d: dict) -> None:
    d["tensors"][weight_key(d)]["shape"] = [2, 16]


def manifest_bomb(box: Path) -> None:      # a manifest that expands to 80 MiB of blanks
    path = box / TRACE
    with zipfile.ZipFile(path) as zf:
        items = {n: zf.read(n) for n in zf.namelist()}
    items["manifest.json"] = items["manifest.json"][:-1] + b" " * (80 << 20) + b"}"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for n, b in items.items():
            zf.writestr(n, b)


def notes_in(folder: str) -> Callable[[Path], None]:
    return write(f"{folder}/notes.txt", "my notes\n")


def also(*steps: Callable[[Path], None]) -> Callable[[Path], None]:
    def apply(box: Path) -> None:
        for s in steps:
            s(box)
    return apply


def nothing(box: Path) -> None:
    pass


# ----------------------------------------------------------------------------- the table

SIM = ["simulate", "--hw", HW, "--trace", LAYERS, "-o", "out", "--quiet"]
SIM_TRACE = ["simulate", "--hw", HW, "--trace", TRACE, "-o", "out", "--quiet"]
DRY = ["sweep", SPEC, "-o", "out", "--dry-run", "--quiet"]


@dataclass
class Case:
    id: str
    setup: Callable[[Path], None]
    args: list[str]
    needles: tuple[str, ...]                 # what the one error line must name (file/option, key)
    keep: dict[str, str] = field(default_factory=dict)   # files that must keep this content
    env: dict[str, str] = field(default_factory=dict)


LOAS_BIG = ("model: big\ntimesteps: 4\ninput: {shape: [1024, 224, 224], role: spike, bits: 1, density: 0.2}\n"
            "layers:\n  - {name: conv, kind: conv2d, out_channels: 1024, kernel: 3, padding: 1, "
            "weight: {bits: 8, density: 0.3}}\n")

CASES = [
    # 1. hangs and huge allocations in expressions
    Case("variable-9**9**9-validate", variable("9**9**9"), ["validate", HW], (HW, "variables.ARRAY", "9**9**9")),
    Case("variable-9**9**9-simulate", variable("9**9**9"), SIM, (HW, "variables.ARRAY")),
    Case("constraint-huge-power", edit(SPEC, "sweep:", "constraints: ['rows ** 9**9**9 > 0']\nsweep:"), DRY,
         (SPEC, "constraints[0]")),
    Case("string-times-1e9", variable("'x' * 10**9"), ["validate", HW], (HW, "variables.ARRAY")),
    # 2. -o over what is already there
    Case("o-folder-with-notes", notes_in("out"), SIM, ("out",), keep={"out/notes.txt": "my notes\n"}),
    Case("o-names-a-file", write("out", "precious\n"), SIM, ("out",), keep={"out": "precious\n"}),
    # 3. reading outside the project
    Case("include-etc-passwd", edit(HW, "description:", "citation: !include /etc/passwd\ndescription:"),
         ["validate", HW], (HW, "citation", "outside")),
    Case("include-dotdot", also(write("../secret.yaml", "secret-value\n"),
                                edit(HW, "description:", "citation: !include ../secret.yaml\ndescription:")),
         SIM, (HW, "citation", "outside")),
    Case("set-table-etc-passwd", nothing, SIM + ["--set", "energy.tables.0=/etc/passwd"],
         ("--set energy.tables.0", "outside")),
    Case("table-dotdot", edit(HW, "energy/example_45nm.yaml", "../../../../../../../etc/passwd"),
         ["validate", HW], (HW, "energy.tables[0]", "outside")),
    # 4. zip bombs
    Case("tensor-bomb-validate", weight_values(np.zeros((64, 1 << 20), np.float32)), ["validate", TRACE],
         (TRACE, "tensors.")),
    Case("tensor-bomb-simulate", weight_values(np.zeros((64, 1 << 20), np.float32)), SIM_TRACE, (TRACE, "tensors.")),
    Case("manifest-bomb", manifest_bomb, ["validate", TRACE], (TRACE, "manifest.json")),
    # 5. tracebacks instead of one-line errors
    Case("expr-round-inf", variable("round(1e308*10)"), ["validate", HW], (HW, "variables.ARRAY")),
    Case("expr-exp-1000", variable("exp(1000)"), ["validate", HW], (HW, "variables.ARRAY")),
    Case("expr-neg-str", variable("-'x'"), ["validate", HW], (HW, "variables.ARRAY")),
    Case("expr-str-lt-int", variable("'x' < 1"), ["validate", HW], (HW, "variables.ARRAY")),
    Case("expr-div-zero", variable("1 / 0"), SIM, (HW, "variables.ARRAY")),
    Case("clock-inf-validate", edit(HW, "clock_mhz: 500", "clock_mhz: .inf"), ["validate", HW], (HW, "clock_mhz")),
    Case("clock-inf-simulate", edit(HW, "clock_mhz: 500", "clock_mhz: .inf"), SIM, (HW, "clock_mhz")),
    Case("tensor-shape-mismatch", rewrite_trace(manifest=tensor_shape), ["validate", TRACE], (TRACE, "weight")),
    Case("tensor-shape-mismatch-simulate", rewrite_trace(manifest=tensor_shape), SIM_TRACE, (TRACE, "weight")),
    Case("string-sweep-value-arith", also(edit(SPEC, "[4, 8]", "[4, 'x']"),
                                          edit(SPEC, "sweep:", "constraints: ['rows * 2 > 0']\nsweep:")),
         DRY, (SPEC, "constraints[0]")),
    Case("set-unclosed-list", nothing, SIM + ["--set", "params.rows=[1,"], ("--set params.rows",)),
    Case("o-proc", nothing, SIM[:-3] + ["-o", "/proc/x", "--quiet"], ("/proc/x",)),
    Case("o-file-sub", write("f", "precious\n"), SIM[:-3] + ["-o", "f/sub", "--quiet"], ("f/sub",),
         keep={"f": "precious\n"}),
    Case("o-dot", nothing, SIM[:-3] + ["-o", ".", "--quiet"], (".:",)),
    Case("trace-convert-existing-folder", notes_in("out"), ["trace", "convert", LAYERS, "-o", "out"], ("out",),
         keep={"out/notes.txt": "my notes\n"}),
    Case("trace-convert-over-a-file", write("out", "precious\n"), ["trace", "convert", LAYERS, "-o", "out"],
         ("out",), keep={"out": "precious\n"}),
    Case("loas-layer-too-big", also(write("big.yaml", LOAS_BIG),
                                    lambda box: shutil.copy(REPO / "hw_configs/energy/loas_paper.yaml",
                                                            box / "energy/loas_paper.yaml"),
                                    lambda box: (box / "loas.yaml").write_text(
                                        (REPO / "hw_configs/loas_paper.yaml").read_text())),
         ["simulate", "--hw", "loas.yaml", "--trace", "big.yaml", "-o", "out", "--quiet"], ("op 'conv'", "loas")),
    # 6. silently accepted
    Case("energy-price-inf", edit("energy/example_45nm.yaml", "energy_pj: 0.3", "energy_pj: .inf"),
         ["validate", HW], ("example_45nm.yaml", "energy_pj")),
    Case("schema-version-0", rewrite_trace(manifest=lambda d: d.update(schema_version=0)), ["validate", TRACE],
         (TRACE, "schema_version")),
    Case("schema-version-negative", rewrite_trace(manifest=lambda d: d.update(schema_version=-3)),
         ["validate", TRACE], (TRACE, "schema_version")),
    Case("nan-in-weight", bad_weight(float("nan")), ["validate", TRACE], (TRACE, "fc.weight", "NaN")),
    Case("inf-in-weight", bad_weight(float("inf")), ["validate", TRACE], (TRACE, "fc.weight")),
    Case("empty-trace", rewrite_trace(manifest=lambda d: d.update(ops=[], tensors={})), ["validate", TRACE],
         (TRACE, "ops")),
    Case("array-1e12-wide", nothing, SIM + ["--set", "params.rows=1000000000000"], ("--set params.rows", "ceiling")),
    Case("sweep-axis-1e8", edit(SPEC, "[4, 8]", "{range: [1, 100000000], step: 1}"), DRY,
         (SPEC, "params.rows", "100000000")),
    Case("set-typo-key", nothing, SIM + ["--set", "params.rowz=4"], ("--set params.rowz", "did you mean 'rows'")),
]


def finished_sweep(box: Path) -> None:
    """A finished sweep in box/sw (run in this process)."""
    from archsim.sweep.runner import run_sweep
    run_sweep(box / SPEC, box / "sw", jobs=1)


CASES += [
    Case("pareto-o-existing-folder", also(finished_sweep, notes_in("out")),
         ["pareto", "sw", "energy_j", "latency_s", "-o", "out"], ("out",), keep={"out/notes.txt": "my notes\n"}),
    Case("report-o-folder-with-notes", also(finished_sweep, notes_in("out")), ["report", "sw", "-o", "out"],
         ("out",), keep={"out/notes.txt": "my notes\n"}),
    Case("sweep-o-folder-with-notes", notes_in("out"), ["sweep", SPEC, "-o", "out", "-j", "1", "--quiet"],
         ("out",), keep={"out/notes.txt": "my notes\n"}),
]
