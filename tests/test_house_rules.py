"""House rules that can be checked mechanically."""
import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import archsim

PKG = Path(archsim.__file__).parent


def test_import_archsim_pulls_no_torch():
    code = ("import sys, archsim, archsim.engine, archsim.config.hardware, archsim.trace.io\n"
            "import archsim.arch.registry as r\n"
            "[r.get_model_class(n) for n in r.BUILTIN]\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_torch_in_archsim_sources():
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.split(".")[0] == "torch" for n in names), f"{path} imports torch"


def test_no_print_outside_cli():
    for path in PKG.rglob("*.py"):
        if "cli" in path.relative_to(PKG).parts or path.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "print"]
        assert not calls, f"{path} calls print(); report through return values or the CLI"


def test_every_kernel_is_registered_with_a_reference():
    """Kernels are compiled only through kernels._jit.kernel, which records the numpy reference."""
    from archsim.kernels import _jit
    for path in (PKG / "kernels").rglob("*.py"):
        text = path.read_text()
        if path.name != "_jit.py":
            assert "numba.njit" not in text and "@njit" not in text and "@jit" not in text, \
                f"{path}: compile kernels with archsim.kernels._jit.kernel(reference=...)"
    for info in pkgutil.walk_packages([str(PKG / "kernels")], prefix="archsim.kernels."):
        importlib.import_module(info.name)
    for key, k in _jit.KERNELS.items():
        assert callable(k.reference) and k.reference.__name__.endswith("_reference"), key
        assert k.reference.__module__ == k.module, f"{key}: keep the reference beside its kernel"


def hw_files():
    root = PKG.parent / "hw_configs"
    return sorted(p for p in root.rglob("*.yaml") if "energy" not in p.relative_to(root).parts)


def table_files():
    return sorted((PKG.parent / "hw_configs" / "energy").rglob("*.yaml"))


@pytest.mark.parametrize("path", hw_files(), ids=lambda p: p.name)
def test_every_shipped_hardware_config_validates(path):
    from archsim.config.hardware import load_hardware
    load_hardware(path)


@pytest.mark.parametrize("path", table_files(), ids=lambda p: p.name)
def test_every_table_entry_has_a_source_and_unit(path):
    from archsim.energy.table import load_tables
    table = load_tables([path])
    for row in table.sources():
        assert row["source"].strip() and row["unit"] in ("pJ", "um2", "mW"), row
