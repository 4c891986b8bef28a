"""Recipe ``tables:``: JSON tables a main-job step writes, shown with the recipe (or how to make them)."""
import json

import pytest

from archsim.errors import ArchsimError
from archsim.report.document import write_report
from archsim.report.pages import recipes_page
from archsim.report.recipe import run_recipe

RECIPE = """
name: study
runs:
  - {name: tiny, trace: %s, hw: %s}
tables:
  - {title: Accuracy study, path: extra/study.json, command: python -m make_study}
"""


def _page(tmp_path, repo):
    recipe = tmp_path / "study.yaml"
    recipe.write_text(RECIPE % (repo / "examples/tiny_snn.yaml", repo / "hw_configs/mac_array_example.yaml"))
    out = tmp_path / "out"
    outcome = run_recipe(recipe, out)
    md, _ = write_report(out, lambda figures: recipes_page([outcome], None, out))
    return out, md.read_text()


def test_missing_table_says_how_to_make_it(tmp_path, repo):
    _, text = _page(tmp_path, repo)
    assert "### Accuracy study" in text
    assert "Not produced yet (extra/study.json missing): run `python -m make_study`." in text


def test_table_is_rendered(tmp_path, repo):
    out = tmp_path / "out"
    (out / "extra").mkdir(parents=True)
    (out / "extra/study.json").write_text(json.dumps({"tables": [
        {"title": "gamma sweep", "columns": ["gamma", "accuracy (%)"], "rows": [[3, 81.25], [5, 60.5]],
         "notes": "three seeds"}]}))
    _, text = _page(tmp_path, repo)
    assert "#### gamma sweep" in text and "three seeds" in text
    assert "| 3 | 81.25 |" in text and "| 5 | 60.5 |" in text
    assert "From extra/study.json (made by `python -m make_study`)." in text


def test_corrupt_table_file_is_a_clear_error(tmp_path, repo):
    out = tmp_path / "out"
    (out / "extra").mkdir(parents=True)
    (out / "extra/study.json").write_text('{"rows": []}')
    with pytest.raises(ArchsimError, match="study.json: not a table file"):
        _page(tmp_path, repo)


def test_several_recipes_open_with_a_scoreboard(tmp_path, repo):
    """One row per recipe with its runs and passed/total checks, before the recipes' sections."""
    run = f"runs:\n  - {{name: r, trace: {repo / 'examples/tiny_snn.yaml'}, hw: {repo / 'hw_configs/mac_array_example.yaml'}}}\n"
    (tmp_path / "alpha.yaml").write_text("name: alpha\n" + run)
    alpha = run_recipe(tmp_path / "alpha.yaml", tmp_path / "out")
    macs = alpha["summaries"]["r"]["macs"]
    (tmp_path / "beta.yaml").write_text(   # one check that passes, one that fails
        "name: beta\n" + run + "checks:\n"
        f"  - {{name: same, kind: published, metric: macs, run: r, published: {macs}, tolerance: 0.01, source: test}}\n"
        f"  - {{name: doubled, kind: published, metric: macs, run: r, published: {2 * macs}, tolerance: 0.01, source: test}}\n")
    beta = run_recipe(tmp_path / "beta.yaml", tmp_path / "out")
    md, _ = write_report(tmp_path / "out", lambda figures: recipes_page([alpha, beta], None, tmp_path / "out"))
    text = md.read_text()
    assert "| alpha | 1 | - | - | - | - | - | - | - |" in text
    assert "| beta | 1 | 1 / 2 | - | - | - | - | - | 1 |" in text
    assert text.index("| beta | 1 | 1 / 2 |") < text.index("## alpha")
