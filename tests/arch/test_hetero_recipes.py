"""The STAtten / TT-SNN / ReSpike example traces stay what their generators make, the recipes
load, and (slow) run with every check within tolerance."""
import json

import pandas as pd
import pytest

from archsim.report.recipe import load_recipe, run_recipe, trace_checks
from archsim.result import Result
from archsim.trace.io import load_trace
from archsim.generators.shapes.spiking_examples import EXAMPLES

RECIPES = ("statten", "ttsnn", "respike")


@pytest.mark.parametrize("rel", sorted(EXAMPLES))
def test_committed_example_matches_its_generator(repo, rel):
    """Regenerate with ``python -m archsim.generators.shapes.spiking_examples examples/`` when this fails."""
    stored = load_trace(repo / "examples" / rel).manifest.model_dump(mode="json")
    made = EXAMPLES[rel]().manifest.model_dump(mode="json")
    assert json.dumps(stored, sort_keys=True) == json.dumps(made, sort_keys=True)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_loads_and_names_existing_files(repo, name):
    recipe, base = load_recipe(repo / "reports" / f"{name}.yaml")
    for run in recipe.runs:
        assert (base / run.trace).is_file() and (base / run.hw).is_file()
    assert recipe.checks


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_trace_checks_pass(repo, name):
    """The fast guard (default suite): every check of these recipes reads counts the traces alone
    determine, evaluated without simulating; each must pass (or be a listed known miss)."""
    recipe, _ = load_recipe(repo / "reports" / f"{name}.yaml")
    rows = trace_checks(repo / "reports" / f"{name}.yaml")
    assert len(rows) == len(recipe.checks)
    assert [r["check"] for r in rows if r["status"] == "miss"] == []


@pytest.mark.slow
@pytest.mark.parametrize("name", RECIPES)
def test_recipe_checks_pass(repo, tmp_path, name):
    out = run_recipe(repo / "reports" / f"{name}.yaml", tmp_path)
    failed = [c for c in out["checks"] if c["status"] == "miss"]
    assert not failed, failed


def test_mixed_type_tag_columns_save_to_parquet(tmp_path):
    """A tag that is 1 on one op and "head" on another is written as text in ops.parquet."""
    pytest.importorskip("pyarrow")
    ops = pd.DataFrame({"op_id": ["a", "b"], "tag.stage": [1, "head"]})
    r = Result(summary={"x": 1}, ops=ops, actions=pd.DataFrame(), sources=pd.DataFrame())
    r.save(tmp_path / "res", parquet=True)
    back = pd.read_parquet(tmp_path / "res" / "ops.parquet")
    assert list(back["tag.stage"]) == ["1", "head"]


def test_trained_recipe_reads_the_traces_the_export_step_writes(repo):
    """reports/hetero_trained.yaml runs traces made by `archsim-workloads hetero`
    (setup.sh) in reports/traces/: each named one is written by a step, on existing hardware."""
    from workloads.hetero_frontends import TRACES

    recipe, base = load_recipe(repo / "reports" / "hetero_trained.yaml")
    written = {f"traces/{n}.trace" for names in TRACES.values() for n in names}
    assert {r.trace for r in recipe.runs} == written
    assert all((base / r.hw).is_file() for r in recipe.runs)


def test_trained_recipe_trace_checks_pass(repo):
    """Fast guard of hetero_trained.yaml: its checks read trace counts only (skipped until the
    main job's export step has written the traces)."""
    from workloads.hetero_frontends import TRACES

    missing = [n for names in TRACES.values() for n in names
               if not (repo / "reports" / "traces" / f"{n}.trace").is_file()]
    if missing:
        pytest.skip(f"run `archsim-workloads hetero -o reports/traces` first (missing {missing})")
    rows = trace_checks(repo / "reports" / "hetero_trained.yaml")
    assert rows and [r["check"] for r in rows if r["status"] == "miss"] == []


@pytest.mark.slow
def test_trained_recipe_checks_pass(repo, tmp_path):
    from workloads.hetero_frontends import TRACES

    missing = [n for names in TRACES.values() for n in names
               if not (repo / "reports" / "traces" / f"{n}.trace").is_file()]
    if missing:
        pytest.skip(f"run `archsim-workloads hetero -o reports/traces` first (missing {missing})")
    out = run_recipe(repo / "reports" / "hetero_trained.yaml", tmp_path)
    failed = [c for c in out["checks"] if c["status"] == "miss"]
    assert not failed, failed
