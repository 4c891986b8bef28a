"""docs/api.md's examples run (doctest) from the repository root, and the public API is what
the docs list: every name in ``archsim.__all__`` resolves, is documented, and is visible to type
checkers (imported under TYPE_CHECKING)."""
from __future__ import annotations

import ast
import doctest
import subprocess
import sys

import archsim


def test_api_examples(repo, monkeypatch):
    monkeypatch.chdir(repo)
    failures, tried = doctest.testfile(str(repo / "docs/api.md"), module_relative=False,
                                       optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert tried >= 20 and failures == 0


def test_every_public_name_resolves_and_is_documented(repo):
    text = (repo / "docs/api.md").read_text()
    for name in archsim.__all__:
        assert getattr(archsim, name) is not None
        if name != "__version__":
            assert f"archsim.{name}" in text, f"archsim.{name} is not in docs/api.md"
    tree = ast.parse((repo / "archsim/__init__.py").read_text())
    typed = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.If)
             and ast.unparse(node.test) == "TYPE_CHECKING" for imp in node.body
             if isinstance(imp, ast.ImportFrom) for a in imp.names}
    assert set(archsim.__all__) - {"__version__"} <= typed


def test_import_archsim_stays_cheap(repo):
    code = ("import sys, archsim; heavy = [m for m in ('pandas', 'numba', 'torch', 'pydantic', 'yaml') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sweep_stays_callable_after_the_package_loads(repo, tmp_path):
    """``import archsim.sweep.plan`` binds ``archsim.sweep`` to the package: it must still run a sweep."""
    import archsim.sweep.plan  # noqa: F401

    outcome = archsim.sweep(repo / "examples/sweeps/mac_array_grid.yaml", tmp_path / "g", jobs=1)
    assert outcome.failed == 0 and outcome.computed == outcome.total > 0
