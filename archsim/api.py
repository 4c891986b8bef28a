"""The public entry points, in one place (``archsim.simulate`` and friends re-export these).

Each takes paths or loaded objects, returns plain objects (:class:`~archsim.result.Result`, a
sweep outcome, recipe outcomes) and raises :class:`~archsim.errors.ArchsimError` kinds on bad
input. See docs/api.md for examples (run as doctests).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from archsim.config.hardware import Hardware
    from archsim.energy.table import EnergyTable
    from archsim.result import Result
    from archsim.sweep.runner import SweepOutcome
    from archsim.trace.io import Trace

PathLike = str | Path


def load_trace(path: PathLike) -> "Trace":
    """A trace: an archsim trace file, a YAML layer list (``.yaml``) or a SCALE-Sim topology
    (``.csv``), the last two converted on the fly."""
    from archsim.trace.load import load_trace as load
    return load(path)


def load_hardware(path: PathLike, overrides: Mapping[str, Any] | None = None) -> "Hardware":
    """A validated hardware description; ``overrides`` maps dotted key paths (``params.rows``,
    ``energy.variables.V_READ``) to values applied before variables are resolved."""
    from archsim.config.hardware import load_hardware as load
    return load(path, overrides)


def simulate(trace: "Trace | PathLike", hw: "Hardware | PathLike", *,
             overrides: Mapping[str, Any] | None = None, seed: int | None = None,
             progress: bool = False, details: bool = True) -> "Result":
    """Simulate ``trace`` on ``hw`` and return the priced result (its counts kept for
    :func:`price`). ``overrides`` apply to ``hw`` when it is a path; ``seed`` seeds synthetic
    tensors (default: the trace's); ``details=False`` skips the per-op tables."""
    from archsim.config.hardware import Hardware
    from archsim.engine import simulate as run
    from archsim.errors import ArchsimError
    from archsim.trace.io import Trace

    if not isinstance(trace, Trace):
        trace = load_trace(trace)
    if isinstance(hw, Hardware):
        if overrides:
            raise ArchsimError("simulate: overrides apply to a hardware file; pass its path, not a loaded Hardware")
    else:
        hw = load_hardware(hw, overrides)
    return run(trace, hw, seed=seed, progress=progress, details=details)


def price(result: "Result | PathLike", table_or_hw: "EnergyTable | Hardware | PathLike") -> "Result":
    """``result`` (a Result or a result folder) priced under another energy/area table, a
    hardware description, or a YAML file holding either, without simulating. A hardware
    description must count the same as the simulated one (only its tables may differ)."""
    from archsim.energy.price import reprice
    return reprice(result, table_or_hw)


def sweep(spec: PathLike, out_dir: PathLike, *, jobs: int | None = None, executor: str = "local",
          scheduler: str | None = None, retry_failed: bool = False, progress: bool = False) -> "SweepOutcome":
    """Run the sweep ``spec`` (YAML, docs/sweeps.md) into ``out_dir`` (resumed if it holds one);
    ``jobs=1`` runs in this process. The outcome's ``table`` is the result table's path."""
    from archsim.sweep.runner import run_sweep
    return run_sweep(spec, out_dir, executor=executor, jobs=jobs, scheduler=scheduler,
                     retry_failed=retry_failed, progress=progress)


def reproduce(recipes: PathLike | list[PathLike], out_dir: PathLike, *, report: bool = True,
              progress: bool = False) -> list[dict[str, Any]]:
    """Run report recipes (``reports/*.yaml``): each run's result under
    ``out_dir/<recipe>/<run>/``, ``checks.json`` per recipe and, if ``report``, the pages
    ``out_dir/index.md`` and ``index.html``. Returns per recipe: the recipe, the summaries,
    the checks (each with ``pass``) and its output folder."""
    from archsim.report.recipe import run_recipe

    paths = [recipes] if isinstance(recipes, (str, Path)) else list(recipes)
    outcomes = [run_recipe(p, out_dir, progress=progress) for p in paths]
    if report:
        from archsim.report.document import write_report
        from archsim.report.pages import recipes_page
        write_report(Path(out_dir), lambda figures: recipes_page(outcomes, figures, Path(out_dir)), embed=False)
    return outcomes
