"""Write the summary figures of every recipe that runs without trained traces to
``tests/goldens/recipes_<recipe>.json``: the "before" numbers that a refactor of the simulator
must reproduce (tests/test_recipe_goldens.py compares them).

    python tests/goldens/make_recipe_goldens.py            # every such recipe
    python tests/goldens/make_recipe_goldens.py loas imc   # only these

A recipe is included when every trace it names exists in the repository (the recipes over
``reports/traces/`` need trained checkpoints and are left out). Regenerate only when a change is
meant to move the numbers, and say why in the commit.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GOLDENS = Path(__file__).resolve().parent

# the figures compared: the counted ones and the priced ones
FIGURES = ("cycles", "macs", "energy_j", "dynamic_energy_j", "static_energy_j", "area_mm2", "latency_s")
BY_COMPONENT = ("energy_j_by_component", "area_mm2_by_component", "traffic_bytes_by_level")


def runnable_recipes() -> list[Path]:
    from archsim.report.recipe import load_recipe

    made = (REPO / "reports" / "traces").resolve()     # the main job's traces: not in the repository
    out = []
    for path in sorted((REPO / "reports").glob("*.yaml")):
        recipe, base = load_recipe(path)
        traces = [(base / r.trace).resolve() for r in recipe.runs]
        if all(t.exists() and made not in t.parents for t in traces):
            out.append(path)
    return out


def summary_figures(summary: dict) -> dict:
    fig = {k: summary[k] for k in FIGURES if summary.get(k) is not None}
    for k in BY_COMPONENT:
        fig[k] = dict(sorted((summary.get(k) or {}).items()))
    return fig


def recipe_figures(path: Path) -> dict:
    """Every run's summary figures and every check's archsim value (run in memory, nothing
    written)."""
    from archsim.report.recipe import evaluate_checks, load_recipe, simulate_run

    recipe, base = load_recipe(path)
    summaries, ops = {}, {}
    per_op = {r for c in recipe.checks if c.op for r in ([c.run] if c.run else c.ratio)}   # op-level checks
    for run in recipe.runs:
        result = simulate_run(run, base, str(path), details=run.name in per_op)
        summaries[run.name], ops[run.name] = result.summary, result.ops
    checks = {c["check"]: c["archsim"] for c in evaluate_checks(recipe, summaries, ops)}
    return {"recipe": recipe.name, "file": str(path.relative_to(REPO)),
            "runs": {name: summary_figures(s) for name, s in summaries.items()}, "checks": checks}


def golden_path(recipe_file: Path) -> Path:
    return GOLDENS / f"recipes_{recipe_file.stem}.json"


def main(names: list[str]) -> int:
    sys.path.insert(0, str(REPO))
    for path in runnable_recipes():
        if names and path.stem not in names:
            continue
        figures = recipe_figures(path)
        text = json.dumps(figures, indent=1, sort_keys=True, default=float, allow_nan=True)
        golden_path(path).write_text(text + "\n")
        print(f"wrote {golden_path(path).relative_to(REPO)} ({len(figures['runs'])} runs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
