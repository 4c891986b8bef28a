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
