"""Accuracy claims over seeds (workloads/seed_spread.py): the spread and the verdict rule on
hand-made numbers (our own derivation), caching by configuration, the CLI's refusal of fewer
than three seeds, and a seed that repeats a registry model's whole training chain."""
import json
import math

import pytest

from workloads import seed_spread as S


def test_summary_is_the_sample_mean_and_standard_deviation():
    s = S.summary([0.80, 0.82, 0.84])
    assert s["mean"] == pytest.approx(0.82)
    assert s["sd"] == pytest.approx(0.02)          # sqrt(((-.02)^2 + 0 + .02^2) / 2)
    assert (s["min"], s["max"], s["n"]) == (0.80, 0.84, 3)


@pytest.mark.parametrize("diffs, expected", [
    ([0.02, 0.03, 0.025], "a > b"),                 # same sign, mean 0.025 >> 2 se
    ([-0.02, -0.03, -0.025], "a < b"),
    ([0.02, -0.01, 0.03], "not resolved"),          # a seed disagrees
    ([0.001, 0.05, 0.001], "not resolved"),         # same sign but mean 0.0173 < 2 se = 0.0326
])
def test_verdict_needs_every_seed_and_two_standard_errors(diffs, expected):
    assert S.verdict(diffs, "a", "b") == expected
    s = S.summary(diffs)
    if expected != "not resolved":
        assert abs(s["mean"]) > 2 * s["sd"] / math.sqrt(3)


def _fake(monkeypatch, calls):
    values = {0: {"x": 0.90, "y": 0.80}, 1: {"x": 0.88, "y": 0.81}, 2: {"x": 0.91, "y": 0.79}}

    def measure(seed, progress):
        calls.append(seed)
        return dict(values[seed])
    study = S.Study("fake", "seed of everything", (("x", "y"), ("y", "x")), lambda seed: f"k{seed}", measure)
    monkeypatch.setitem(S.STUDIES, "fake", lambda: study)


def test_measure_aggregates_and_caches_by_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHSIM_RESULTS_DIR", str(tmp_path / "local"))
    monkeypatch.setenv("ARCHSIM_COMMITTED_RESULTS_DIR", str(tmp_path / "committed"))
    calls = []
    _fake(monkeypatch, calls)
    r = S.measure("fake", (0, 1, 2), progress=False)
    assert calls == [0, 1, 2]
    assert r["accuracy"]["x"]["values"] == [0.90, 0.88, 0.91]
    (xy, yx) = r["comparisons"]
    assert xy["values"] == pytest.approx([0.10, 0.07, 0.12]) and xy["verdict"] == "x > y"
    assert yx["verdict"] == "y < x"
    assert S.measure("fake", (0, 1, 2), progress=False) == json.loads(json.dumps(r))
    assert calls == [0, 1, 2]                       # read from the cache, not measured again
    tables = S.tables(r)
    assert tables[0]["rows"][0][:4] == ["x", "90.00", "88.00", "91.00"]
    assert tables[1]["rows"][0][-1] == "x > y"


def test_a_changed_run_makes_another_configuration(monkeypatch):
    _fake(monkeypatch, [])
    a = S.config("fake", (0, 1, 2))
    b = S.config("fake", (0, 1, 3))
    assert a.runs == ("k0", "k1", "k2") and a != b


def test_fewer_than_three_seeds_is_refused(tmp_path, monkeypatch, capsys):
    _fake(monkeypatch, [])
    with pytest.raises(ValueError, match="at least 3"):
        S.config("fake", (0, 1, 1))
    with pytest.raises(SystemExit):
        S.main(["-o", str(tmp_path), "--only", "ttsnn", "--seeds", "0", "1"])
    assert "--seeds" in capsys.readouterr().err
    with pytest.raises(KeyError, match="expected one of"):
        S.config("nope")


def test_a_seed_repeats_the_registry_chain():
    """A TT schedule at seed s starts from the baseline trained at seed s; seed 0 keeps the keys of
    the committed checkpoints."""
    from workloads.train import TrainConfig, parent_config

    child0 = TrainConfig.for_model("ttsnn-r18-fmnist-stt", "main")
    child1 = TrainConfig.for_model("ttsnn-r18-fmnist-stt", "main", seed=1)
    assert parent_config(child1).seed == 1
    assert child1.starts_from == TrainConfig.for_model("ttsnn-r18-fmnist", "main", seed=1).key()
    assert child0.starts_from == TrainConfig.for_model("ttsnn-r18-fmnist", "main").key() != child1.starts_from


def test_stableq_seed_zero_is_the_main_jobs_run():
    from workloads.papers.stableq import study as stableq

    assert S._sq_config(0) == stableq.StableQConfig()
    other = S._sq_config(1)
    assert other.seed == other.train.seed == 1 and other.calibrations == ("real",)
    assert S._sq_comparisons() == tuple((f"w{w}a{a}-progressive", f"w{w}a{a}-rtn")
                                        for w, a in stableq.StableQConfig().formats)


def test_stored_only_never_computes_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARCHSIM_RESULTS_DIR", str(tmp_path / "local"))
    monkeypatch.setenv("ARCHSIM_COMMITTED_RESULTS_DIR", str(tmp_path / "committed"))
    calls = []
    _fake(monkeypatch, calls)
    assert S.main(["-o", str(tmp_path / "out"), "--only", "fake", "--stored-only", "-q"]) == 0
    assert calls == []
    assert "not computed" in capsys.readouterr().err
    table = json.loads((tmp_path / "out" / "seeds" / "fake.json").read_text())["tables"][0]
    assert "not computed" in table["rows"][0][0]
    S.measure("fake", progress=False)               # once stored, --stored-only reads it
    assert S.main(["-o", str(tmp_path / "out"), "--only", "fake", "--stored-only", "-q"]) == 0
    assert calls == [0, 1, 2]
    assert json.loads((tmp_path / "out" / "seeds" / "fake.json").read_text())["result"]["seeds"] == [0, 1, 2]
