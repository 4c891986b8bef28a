"""`archsim reproduce -j N` runs recipes in worker processes: same printed lines (in recipe
order), same checks, same report as the sequential run (our own invariant: the recipes are
independent), and the exit status still says whether a check missed."""
import json

from archsim.cli import main


def _recipes(tmp_path, repo):
    run = f"runs:\n  - {{name: r, trace: {repo / 'examples/tiny_snn.yaml'}, hw: {repo / 'hw_configs/mac_array_example.yaml'}}}\n"
    (tmp_path / "alpha.yaml").write_text("name: alpha\n" + run)
    (tmp_path / "beta.yaml").write_text(   # one check that fails (a doubled MAC count)
        "name: beta\n" + run + "checks:\n"
        "  - {name: doubled, kind: published, metric: macs, run: r, published: 1.0, tolerance: 0.01, source: test}\n")
    return [str(tmp_path / "alpha.yaml"), str(tmp_path / "beta.yaml")]


def test_parallel_reproduce_matches_sequential(tmp_path, repo, capsys):
    recipes = _recipes(tmp_path, repo)
    rc1 = main(["reproduce", *recipes, "-o", str(tmp_path / "seq")])
    seq = capsys.readouterr().out.replace(str(tmp_path / "seq"), "OUT")
    rc2 = main(["reproduce", *recipes, "-o", str(tmp_path / "par"), "-j", "2"])
    par = capsys.readouterr().out.replace(str(tmp_path / "par"), "OUT")
    assert rc1 == rc2 == 1            # beta's check misses either way
    assert seq == par and seq.index("alpha.yaml") < seq.index("beta.yaml")
    for name in ("alpha", "beta"):
        assert json.loads((tmp_path / "seq" / name / "checks.json").read_text()) == \
            json.loads((tmp_path / "par" / name / "checks.json").read_text())
    for page in ("index.md", "alpha/index.md", "beta/index.md"):     # the pages are drawn in the workers too
        assert (tmp_path / "par" / page).read_text().replace(str(tmp_path / "par"), "OUT") == \
            (tmp_path / "seq" / page).read_text().replace(str(tmp_path / "seq"), "OUT")
    assert sorted(p.name for p in (tmp_path / "par" / "alpha" / "img").iterdir()) == \
        sorted(p.name for p in (tmp_path / "seq" / "alpha" / "img").iterdir())


def test_negative_jobs_is_an_error(tmp_path, repo, capsys):
    assert main(["reproduce", *_recipes(tmp_path, repo), "-o", str(tmp_path / "o"), "-j", "-1"]) != 0
    assert "--jobs -1" in capsys.readouterr().err
