"""Checks that cannot flatter: every check has a kind and a source, calibrations name what they
fit and what is held out, ratio checks of an effect fail when the effect is missing or reversed
whatever the band, known misses are data, and `archsim reproduce` is strict by default."""
from pathlib import Path

import pytest

from archsim.cli import main
from archsim.errors import ConfigError
from archsim.report.recipe import (EFFECT_FLOOR, KINDS, Recipe, effect_verdict, evaluate_checks, headline,
                                   load_recipe, tally)

REPO = Path(__file__).resolve().parents[2]


def _recipe(tmp_path, checks: str, name="r") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nruns:\n"
                    f"  - {{name: a, trace: {REPO}/examples/tiny_snn.yaml, hw: {REPO}/hw_configs/mac_array_example.yaml}}\n"
                    f"  - {{name: b, trace: {REPO}/examples/tiny_snn.yaml, hw: {REPO}/hw_configs/mac_array_example.yaml,\n"
                    "     set: {variables.ARRAY: 32}}\n"
                    f"checks:\n{checks}")
    return path


def _check(**over):
    c = {"name": "c", "kind": "published", "metric": "cycles", "ratio": ["a", "b"], "published": 2.0,
         "tolerance": 0.25, "source": "paper"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def _validate(*checks):
    return Recipe.model_validate({"name": "r", "runs": [{"name": "a", "trace": "t", "hw": "h"},
                                                        {"name": "b", "trace": "t", "hw": "h"}],
                                  "checks": list(checks)})


@pytest.mark.parametrize("missing", ["kind", "source"])
def test_kind_and_source_are_required(tmp_path, missing):
    body = "  - {name: c, kind: published, metric: cycles, run: a, published: 1, tolerance: 0.1, source: s}\n"
    body = body.replace({"kind": "kind: published, ", "source": ", source: s"}[missing], "")
    with pytest.raises(ConfigError, match=rf"r.yaml:\d+: checks\[0\]\.{missing}: required key is missing"):
        load_recipe(_recipe(tmp_path, body))


def test_unknown_kind_and_extra_keys_are_errors():
    with pytest.raises(Exception, match="kind"):
        _validate(_check(kind="paper"))
    with pytest.raises(Exception, match="extra"):
        _validate(_check(known_miss={"reason": "x", "why": "y"}))


def test_calibration_names_its_parameter_and_only_a_calibration_does():
    with pytest.raises(Exception, match="names what it fits"):
        _validate(_check(kind="calibration"))
    with pytest.raises(Exception, match="names what it fits"):
        _validate(_check(fits={"parameter": "p", "held_out": []}))
    with pytest.raises(Exception, match="unknown check 'nope'"):
        _validate(_check(kind="calibration", fits={"parameter": "p", "held_out": ["nope"]}))
    r = _validate(_check(kind="calibration", fits={"parameter": "params.x", "held_out": ["d"]}),
                  _check(name="d"))
    assert r.held_out_from("d") == ["params.x"] and r.held_out_from("c") == []


def test_effect_is_stated_as_a_factor_above_one_on_a_ratio():
    with pytest.raises(Exception, match="factor above 1"):
        _validate(_check(published=0.5, effect="reduction"))
    with pytest.raises(Exception, match="applies to a ratio check"):
        _validate(_check(ratio=None, run="a", effect="gain"))
    assert _validate(_check(effect="gain")).checks[0].measures_effect
    assert not _validate(_check(published=1.0)).checks[0].measures_effect    # an invariant of 1: no effect


@pytest.mark.parametrize("published, ours, ok", [
    (1.07, 1.005, False),    # TReX TOPS/W: 0.005 of a 0.07 effect
    (1.07, 1.035, True),     # exactly half the effect
    (1.07, 1.034, False),
    (1.2, 0.95, False),      # a slowdown where the paper has a speedup
    (8.0, 4.6, True),
    (0.8, 0.95, False),      # a reduction stated below 1: effect -0.2, ours -0.05
    (0.8, 0.85, True),
])
def test_effect_verdict(published, ours, ok):
    assert EFFECT_FLOOR == 0.5
    assert effect_verdict(published, ours) is ok


def _summaries(a, b):
    return {"a": {"cycles": a}, "b": {"cycles": b}}


def test_effect_rule_fails_a_ratio_inside_a_wide_band():
    """1.005 against 1.07 is within 25 % but has under half the published effect: a miss."""
    r = _validate(_check(published=1.07, tolerance=0.25, effect="gain"))
    [row] = evaluate_checks(r, _summaries(1.005, 1.0))
    assert row["within_tolerance"] and row["effect_ok"] is False and not row["pass"] and row["status"] == "miss"
    [row] = evaluate_checks(r, _summaries(1.06, 1.0))
    assert row["pass"] and row["status"] == "pass"
    # a ratio check with no `effect:` key gets the rule all the same
    [row] = evaluate_checks(_validate(_check(published=1.07, tolerance=0.25)), _summaries(0.97, 1.0))
    assert row["effect_ok"] is False and not row["pass"]


def test_known_miss_status():
    r = _validate(_check(name="m", published=4.0, known_miss={"reason": "tile imbalance"}), _check(name="p"))
    rows = {row["check"]: row for row in evaluate_checks(r, _summaries(2.0, 1.0))}
    assert rows["m"]["status"] == "known miss" and rows["m"]["known_miss"] == "tile imbalance"
    assert rows["p"]["status"] == "pass"
    rows = {row["check"]: row for row in evaluate_checks(r, _summaries(4.0, 1.0))}
    assert rows["m"]["status"] == "known miss passes"


def test_headline_counts_only_published_and_peer_tool_checks():
    checks = [{"kind": k, "pass": p, "status": s} for k, p, s in [
        ("published", True, "pass"), ("published", False, "known miss"), ("peer_tool", True, "pass"),
        ("derived", True, "pass"), ("invariant", True, "pass"), ("invariant", True, "pass"),
        ("calibration", False, "miss")]]
    t = tally(checks)
    assert (t["scored_passed"], t["scored"]) == (2, 3)
    assert t["by_kind"] == {"published": (1, 2), "peer_tool": (1, 1), "derived": (1, 1), "invariant": (2, 2),
                            "calibration": (0, 1)}
    assert (t["misses"], t["known_misses"]) == (1, 1)
    text = headline(checks)
    assert text.startswith("2 of 3 published + peer_tool checks within tolerance")
    assert "derived 1/1" in text and "invariant 2/2" in text and "1 known miss(es), 1 unexpected miss(es)" in text


def test_reproduce_is_strict_unless_lenient_and_known_misses_do_not_fail(tmp_path, capsys):
    miss = "  - {name: m, kind: published, metric: cycles, ratio: [a, b], published: 50, tolerance: 0.1, source: s"
    strict = _recipe(tmp_path, miss + "}\n", "strict")
    out = tmp_path / "out"
    assert main(["reproduce", str(strict), "-o", str(out)]) == 1
    assert "not listed as known misses" in capsys.readouterr().err
    assert main(["reproduce", str(strict), "-o", str(out), "--lenient"]) == 0
    known = _recipe(tmp_path, miss + ", known_miss: {reason: made up to miss}}\n", "known")
    assert main(["reproduce", str(known), "-o", str(out)]) == 0
    captured = capsys.readouterr().out
    assert "known miss: made up to miss" in captured
    assert "0 of 1 published + peer_tool checks within tolerance" in captured
    page = (out / "known" / "index.md").read_text()      # the recipe's own page shows the reason
    assert "known miss: made up to miss" in page


def test_every_recipe_check_declares_a_kind_and_every_known_miss_a_reason():
    """The committed recipes: loadable, every kind used honestly enough to be counted (at least
    one check of each scored kind overall), no check marked known miss without a reason."""
    kinds = []
    for path in sorted((REPO / "reports").glob("*.yaml")):
        recipe, _ = load_recipe(path)
        for c in recipe.checks:
            kinds.append(c.kind)
            assert c.source.strip()
            if c.known_miss:
                assert len(c.known_miss.reason) > 20, (path.name, c.name)
            if c.kind == "invariant":     # an identity: a tolerance at rounding level
                assert c.tolerance <= 1e-3, (path.name, c.name)
    assert set(kinds) == set(KINDS)


def test_dropped_checks_are_back_as_known_misses():
    """loas_real's speedups over SparTen-S / GoSPA-S are checked (they were dropped for missing)."""
    recipe, _ = load_recipe(REPO / "reports/loas_real.yaml")
    names = {c.name: c for c in recipe.checks}
    for net in ("AlexNet", "VGG16", "ResNet19"):
        for base in ("SparTen-S", "GoSPA-S"):
            c = names[f"{net}: LoAS speedup over {base}"]
            assert c.kind == "published" and c.known_miss is not None



def test_trace_summary_matches_the_simulation(tmp_path):
    """The fast guard's trace-only summary equals what simulate() writes for the same keys, and
    trace_checks evaluates exactly the trace-determined checks."""
    from archsim.engine import simulate
    from archsim.report.recipe import trace_checks, trace_summary
    from archsim.cli.common import load_any_trace

    trace = load_any_trace(REPO / "examples/tiny_snn.yaml")
    full = simulate(trace, REPO / "hw_configs/mac_array_example.yaml", details=False).summary
    assert trace_summary(trace) == {k: full[k] for k in ("macs", "timesteps", "trace_metrics")}
    path = _recipe(tmp_path, f"  - {{name: m, kind: derived, metric: macs, run: a, published: {full['macs']}, "
                             "tolerance: 1.0e-9, source: s}\n"
                             "  - {name: c, kind: derived, metric: cycles, run: a, published: 1, tolerance: 0.1, source: s}\n")
    rows = trace_checks(path)
    assert [(r["check"], r["status"]) for r in rows] == [("m", "pass")]
