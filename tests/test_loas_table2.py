"""The LoAS Table II comparison (archsim trace stats --loas --table): the paper's whole-network
figures recomputed from its per-layer statistics, checked against the published Table II, and the
table a trace produces."""
import json

import pytest

from archsim.cli import main
from archsim.generators.stats.loas_paper import network_stats

# LoAS (MICRO 2024) Table II, whole networks (CIFAR-10): spike sparsity and silent neurons, percent
PUBLISHED = {"vgg16": (82.3, 74.1), "resnet19": (68.7, 59.6)}


@pytest.mark.parametrize("net", sorted(PUBLISHED))
def test_paper_network_figures_match_table_ii(net):
    s = network_stats(net)
    assert s["spike_sparsity"] == pytest.approx(PUBLISHED[net][0], abs=0.05)
    assert s["silent"] == pytest.approx(PUBLISHED[net][1], abs=0.05)
    assert s["silent"] <= s["strong_silent"] <= 100


def test_table_of_the_paper_statistics_trace(tmp_path, capsys):
    """The statistics-only trace of the paper's VGG16 profiled as ours are gives the paper's
    figures back (both columns of each pair agree); our accuracy is '-' (the trace has none)."""
    out = tmp_path / "t2.json"
    assert main(["trace", "stats", "examples/loas_paper/vgg16.trace", "--loas", "--kinds", "linear",
                 "--keep-first", "--table", str(out)]) == 0
    table = json.loads(out.read_text())["tables"][0]
    (row,) = table["rows"]
    assert row[0] == "vgg16" and row[2] == "-"
    for pair in row[3:]:
        ours, paper = (float(v) for v in pair.split(" / "))
        assert ours == pytest.approx(paper, abs=0.15)
    # a second run replaces its own table; a foreign file is never replaced
    assert main(["trace", "stats", "examples/loas_paper/vgg16.trace", "--loas", "--kinds", "linear",
                 "--keep-first", "--table", str(out)]) == 0
    foreign = tmp_path / "notes.json"
    foreign.write_text("{}")
    assert main(["trace", "stats", "examples/loas_paper/vgg16.trace", "--loas", "--kinds", "linear",
                 "--table", str(foreign)]) == 2
    assert foreign.read_text() == "{}"


def test_table_needs_loas(tmp_path, capsys):
    assert main(["trace", "stats", "examples/loas_paper/vgg16.trace", "--table", str(tmp_path / "x.json")]) == 2
    assert "--table" in capsys.readouterr().err
