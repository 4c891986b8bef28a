"""The TReX and ClipFormer recipes of the main job (``archsim reproduce`` runs every reports/*.yaml):
the DeiT-S and LV-ViT-S TReX ratios next to the paper's, within the issue's 25 % goal, recomputed
here from the runs' summaries; the cell-write checks; the study tables in the report page."""
import json

import pytest

from archsim.report.document import write_report
from archsim.report.pages import recipes_page
from archsim.report.recipe import run_recipe

# TReX (arXiv 2408.12742): abstract and tables, as quoted in the research notes
PAPER = {("deit-s", "deit-s-trex6"): {"edap": 2.3, "tops_per_mm2": 1.86},
         ("lvvit-s", "lvvit-s-trex7"): {"edap": 2.19, "tops_per_mm2": 1.79}}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    from pathlib import Path
    repo = Path(__file__).resolve().parents[2]
    assert {"trex.yaml", "clipformer.yaml"} <= {p.name for p in (repo / "reports").glob("*.yaml")}
    out = tmp_path_factory.mktemp("vit-recipes")
    return {name: run_recipe(repo / f"reports/{name}.yaml", out) for name in ("trex", "clipformer")}, out


def test_trex_ratios_next_to_the_paper(outcomes):
    """EDAP baseline/TReX and TOPS/mm2 TReX/baseline within 25 % of the paper for TReX-D-6
    (6 of 12 DeiT-S encoders reuse) and TReX-L-9 (7 of 16 LV-ViT-S encoders); the write
    calibration puts DeiT-S's K/V writes at 80 +- 5 % of its delay; every recipe check passes or
    is a known miss (the TOPS/W gains: archsim's effect is under half the paper's)."""
    trex = outcomes[0]["trex"]
    s = trex["summaries"]
    for (base, reuse), paper in PAPER.items():
        b, r = s[base], s[reuse]
        assert b["edap_j_s_mm2"] / r["edap_j_s_mm2"] == pytest.approx(paper["edap"], rel=0.25)
        assert r["tops_per_mm2"] / b["tops_per_mm2"] == pytest.approx(paper["tops_per_mm2"], rel=0.25)
        assert r["metrics"]["cells_written"] < b["metrics"]["cells_written"]
    share = 1 - s["deit-s-writes-free"]["latency_s"] / s["deit-s"]["latency_s"]
    assert 0.75 <= share <= 0.85
    assert len(trex["checks"]) == 7 and all(c["status"] in ("pass", "known miss") for c in trex["checks"])
    assert {c["check"] for c in trex["checks"] if c["status"] == "known miss"} == {
        "DeiT-S TReX-D-6: TOPS/W gain", "LV-ViT-S TReX-L-9: TOPS/W gain"}
    assert all(c["pass"] for c in outcomes[0]["clipformer"]["checks"])


def test_study_tables_in_the_report(outcomes):
    """With the studies' JSON present (as ``workloads.papers.vit.studies`` writes it), the report page
    shows the TReX search and ClipFormer tables under their recipes; without it, how to make it."""
    results, out = outcomes
    md, _ = write_report(out, lambda figures: recipes_page(list(results.values()), None, out))
    text = md.read_text()
    assert "TReX-D-6: EDAP reduction" in text
    assert text.count("Not produced yet") == 2 and "archsim-workloads vit-studies -o reports/out" in text
    (out / "vit").mkdir()
    table = {"title": "ClipFormer on crossbars", "columns": ["gamma", "no clipping (%)"], "rows": [[5.0, "75.7 ± 1.0"]]}
    (out / "vit/clipformer.json").write_text(json.dumps({"tables": [table]}))
    (out / "vit/trex_search.json").write_text(json.dumps({"tables": [{**table, "title": "Reuse patterns"}]}))
    md, _ = write_report(out, lambda figures: recipes_page(list(results.values()), None, out))
    text = md.read_text()
    assert "Not produced yet" not in text and "#### ClipFormer on crossbars" in text and "| 5 | 75.7 ± 1.0 |" in text
    assert "#### Reuse patterns" in text
