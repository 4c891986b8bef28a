"""``archsim validate``: check hardware descriptions, energy tables, layer lists and traces."""
from __future__ import annotations

import zipfile
from pathlib import Path

from archsim.errors import ArchsimError, ConfigError


def register(sub) -> None:
    p = sub.add_parser("validate", help="check files: hardware YAML, energy table, layer list, trace, sweep spec "
                                        "or report recipe",
                       description="Check each FILE and report every problem found; exit 2 if any file is bad.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=run)


def kind_of(path: Path) -> str:
    if not path.exists():
        raise ArchsimError(f"{path}: file not found")
    if zipfile.is_zipfile(path) or path.suffix == ".trace":
        return "trace"
    from archsim.config.yaml_loader import load_yaml

    data = load_yaml(path, resolve=False).data
    if isinstance(data, dict):
        for key, kind in (("architecture", "hardware"), ("components", "energy table"),
                          ("layers", "layer list"), ("sweep", "sweep spec"), ("traces", "sweep spec"),
                          ("runs", "report recipe")):
            if key in data:
                return kind
    raise ConfigError(f"{path}: cannot tell what this file is (expected a trace, or a YAML with "
                      "'architecture', 'components', 'layers', 'sweep' or 'runs' at the top level)")


def check(path: Path) -> str:
    kind = kind_of(path)
    if kind == "trace":
        from archsim.trace.io import load_trace
        trace = load_trace(path)
        trace.check_tensors()
        return f"trace '{trace.name}', {len(trace.ops)} ops, {len(trace.manifest.tensors)} tensors"
    if kind == "hardware":
        from archsim.config.hardware import load_hardware
        hw = load_hardware(path)
        return f"hardware '{hw.name}', architecture {hw.config.architecture}, tables {hw.table.name}"
    if kind == "energy table":
        from archsim.energy.table import load_tables
        table = load_tables([path])
        return f"energy table '{table.name}', {len(table.components)} components"
    if kind == "sweep spec":
        from archsim.sweep.plan import make_plan
        return make_plan(path).describe()   # every design point's hardware and every trace checked
    if kind == "report recipe":
        from archsim.report.recipe import load_recipe
        recipe, _ = load_recipe(path)
        return f"report recipe '{recipe.name}', {len(recipe.runs)} runs, {len(recipe.checks)} checks"
    from archsim.trace.layer_list import load_layer_list
    trace = load_layer_list(path)
    return f"layer list '{trace.name}', {len(trace.ops)} ops"


def run(args) -> int:
    import sys

    bad = 0
    for name in args.files:
        try:
            print(f"ok: {name}: {check(Path(name))}")
        except ArchsimError as exc:
            bad += 1
            for line in str(exc).splitlines():
                print(f"archsim: error: {line}", file=sys.stderr)
    return 2 if bad else 0
