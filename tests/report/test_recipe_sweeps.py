"""Recipe ``sweeps:``: a sweep run with the recipe, its page (plots against each swept key) part of
the recipe's page."""
import json

import pytest

from archsim.errors import ArchsimError
from archsim.report.document import write_report
from archsim.report.pages import recipes_page
from archsim.report.recipe import load_recipe, run_recipe

RECIPE = """
name: study
runs:
  - {name: tiny, trace: %s, hw: %s}
sweeps:
  - {name: rows, title: "Strong mode and timesteps", spec: rows.yaml}
"""

SPEC = """
name: rows
hardware: %s
traces: [%s]
sweep:
  grid:
    params.strong_silent: [false, true]
    workload.timesteps: [2, 4]
"""


def _write(tmp_path, repo):
    hw, trace = repo / "hw_configs/mac_array_example.yaml", repo / "examples/loas_paper/alexnet.trace"
    (tmp_path / "rows.yaml").write_text(SPEC % (repo / "hw_configs/loas_paper.yaml", trace))
    recipe = tmp_path / "study.yaml"
    recipe.write_text(RECIPE % (repo / "examples/tiny_snn.yaml", hw))
    return recipe


def test_sweep_runs_with_the_recipe_and_is_on_its_page(tmp_path, repo):
    recipe = _write(tmp_path, repo)
    out = tmp_path / "out"
    outcome = run_recipe(recipe, out)
    manifest = json.loads((out / "study/sweeps/rows/sweep.json").read_text())
    assert manifest["rows"] == 4
    md, _ = write_report(out, lambda figures: recipes_page([outcome], figures, out))
    text = md.read_text()
    assert "### Strong mode and timesteps" in text
    assert "#### Metrics against each swept key" in text
    assert (out / "img").is_dir() and any(p.name.startswith("study-rows-vs-workload.timesteps")
                                         for p in (out / "img").iterdir())
    # run again: the store already has every row (resumed, nothing recomputed)
    mtime = (out / "study/sweeps/rows/sweep.json").stat().st_mtime_ns
    run_recipe(recipe, out)
    assert json.loads((out / "study/sweeps/rows/sweep.json").read_text())["runs"][-1]["pending"] == 0
    assert (out / "study/sweeps/rows/sweep.json").stat().st_mtime_ns >= mtime


def test_missing_sweep_says_so(tmp_path, repo):
    import shutil
    recipe = _write(tmp_path, repo)
    out = tmp_path / "out"
    outcome = run_recipe(recipe, out)
    shutil.rmtree(out / "study/sweeps")
    md, _ = write_report(out, lambda figures: recipes_page([outcome], None, out))
    assert "Not run yet: `archsim reproduce` runs rows.yaml into sweeps/rows/." in md.read_text()


def test_duplicate_sweep_names_are_refused(tmp_path, repo):
    recipe = _write(tmp_path, repo)
    recipe.write_text(recipe.read_text() + '  - {name: rows, title: "again", spec: rows.yaml}\n')
    with pytest.raises(ArchsimError, match="duplicate sweep names"):
        load_recipe(recipe)


def test_every_recipe_sweep_spec_is_valid(repo):
    """The sweeps the shipped recipes run parse (their traces may be main-job outputs, so the full
    plan is checked where the main job runs; here the specs and their keys)."""
    from archsim.sweep.spec import expand, load_spec
    found = 0
    for path in sorted((repo / "reports").glob("*.yaml")):
        recipe, base = load_recipe(path)
        for sweep in recipe.sweeps:
            loaded = load_spec(base / sweep.spec)
            points, _ = expand(loaded)
            assert points, (path.name, sweep.name)
            found += 1
    assert found >= 4


def test_a_bad_sweep_stops_the_recipe_before_its_runs(tmp_path, repo):
    recipe = _write(tmp_path, repo)
    recipe.write_text(recipe.read_text().replace("spec: rows.yaml", "spec: missing.yaml"))
    with pytest.raises(ArchsimError, match="missing.yaml: file not found"):
        run_recipe(recipe, tmp_path / "out")
    assert not (tmp_path / "out" / "study" / "tiny").exists()
