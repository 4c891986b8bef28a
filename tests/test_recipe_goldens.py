"""Every recipe that runs without trained traces gives the same numbers as the goldens stored
before the architecture refactor (tests/goldens/recipes_*.json, written by
tests/goldens/make_recipe_goldens.py). Compared against: our own earlier output (a regression
check, not validation). The relative tolerance only absorbs reordered floating-point sums."""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

GOLDENS = Path(__file__).parent / "goldens"
RTOL = 1e-9
SLOW = {"loas", "loas_layers", "statten", "ttsnn"}     # whole networks (minutes on 2 cores)


def _maker():
    spec = importlib.util.spec_from_file_location("make_recipe_goldens", GOLDENS / "make_recipe_goldens.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cases():
    for path in sorted(GOLDENS.glob("recipes_*.json")):
        name = path.stem.removeprefix("recipes_")
        marks = [pytest.mark.slow] if name in SLOW else []
        yield pytest.param(path, id=name, marks=marks)


def _compare(ours, golden, where: str, problems: list[str]) -> None:
    if isinstance(golden, dict):
        if not isinstance(ours, dict) or set(ours) != set(golden):
            problems.append(f"{where}: keys {sorted(ours) if isinstance(ours, dict) else ours} != {sorted(golden)}")
            return
        for k in golden:
            _compare(ours[k], golden[k], f"{where}.{k}", problems)
    elif isinstance(golden, (int, float)) and not isinstance(golden, bool):
        if not math.isclose(float(ours), float(golden), rel_tol=RTOL, abs_tol=0.0) and not (
                math.isnan(float(golden)) and math.isnan(float(ours))):
            problems.append(f"{where}: {ours!r} != golden {golden!r}")
    elif ours != golden:
        problems.append(f"{where}: {ours!r} != golden {golden!r}")


def test_goldens_cover_every_runnable_recipe(repo):
    maker = _maker()
    stored = {p.stem.removeprefix("recipes_") for p in GOLDENS.glob("recipes_*.json")}
    runnable = {p.stem for p in maker.runnable_recipes()}
    assert runnable <= stored, f"recipes without goldens: {sorted(runnable - stored)} (run {maker.__file__})"


@pytest.mark.parametrize("golden_file", list(_cases()))
def test_recipe_matches_golden(golden_file, repo):
    golden = json.loads(golden_file.read_text())
    ours = json.loads(json.dumps(_maker().recipe_figures(repo / golden["file"]), default=float))
    problems: list[str] = []
    _compare(ours["runs"], golden["runs"], "runs", problems)
    _compare(ours["checks"], golden["checks"], "checks", problems)
    assert not problems, f"{golden['file']}: {len(problems)} figures moved:\n" + "\n".join(problems[:20])
