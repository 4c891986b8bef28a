"""``archsim list``: registered hardware models and the example hardware descriptions."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("list", help="registered hardware models and example hardware configs")
    p.set_defaults(func=run)


def config_dirs() -> list[Path]:
    import archsim

    here = Path(archsim.__file__).resolve().parents[1] / "hw_configs"
    cwd = Path.cwd() / "hw_configs"
    return [d for d in dict.fromkeys([cwd, here]) if d.is_dir()]


def run(args) -> int:
    import importlib

    from archsim.arch.registry import available
    from archsim.config.yaml_loader import load_yaml
    from archsim.errors import ArchsimError

    print("hardware models (architecture: ...):")
    for name, target in sorted(available().items()):
        module, _, attr = target.partition(":")
        try:
            desc = getattr(importlib.import_module(module), attr).description
        except Exception as exc:  # a broken plug-in must not hide the others
            desc = f"(cannot load: {exc})"
        print(f"  {name:<14} {desc}")
    for d in config_dirs():
        print(f"example hardware descriptions in {d}:")
        for path in sorted(d.glob("*.yaml")):
            try:
                data = load_yaml(path, resolve=False).data   # follows `extends:` to the base file
            except ArchsimError:
                continue
            if isinstance(data, dict) and "architecture" in data:
                print(f"  {path.name:<34} {data.get('architecture'):<12} {data.get('description', '')}")
    return 0
