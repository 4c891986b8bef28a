"""PTB and Stellar (the dense-weight SNN accelerators LoAS compares against): cycles, traffic and
energy by hand on the tiny layer of test_loas_models, the time-window knob, and PTB's cycles
against the LoAS authors' SCALE-Sim runs of VGG16."""
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.generators.stats import loas_paper as lp
from tests.test_loas_models import bits, tiny_trace

# The LoAS authors' PTB cycles per VGG16 layer (conv3..conv13), SCALE-Sim 16 x 4, T = 4, as listed in
# their energy script (RuokaiYin/LoAS cd635a8, src/plot/energy_cal_revision.py, plot_ptb_stellar).
AUTHORS_PTB_CYCLES = [1210367, 2390015, 1195007, 2374655, 2374655, 1187327, 2366975, 2366975, 2366975, 2366975,
                      2366975]


def count(r, component, action):
    return r.actions.set_index(["component", "action"])["count"][component, action]


def run(hw, trace=None, **over):
    return simulate(trace or tiny_trace(), load_hardware(f"hw_configs/{hw}.yaml", overrides=over))


def test_ptb_by_hand(repo, monkeypatch):
    """T = 4, M = 3, K = 5, N = 2 on a 16 x 4 output-stationary array, one window of T = 4: the
    product is (M*T = 12) x 5 by 5 x 2 -> one fold (12 <= 16 rows, 2 <= 4 columns) of
    rows + cols + K - 2 = 23 cycles; SCALE-Sim reports 23 - 1 = 22. Every PE is clocked:
    ptb_pe.cycle = 64 x 22. DRAM: inputs 15 neurons x 4 bits + weights 10 x 8 + outputs 3 x 2 x 4 =
    164 bits. SRAM reads: ifmap 12 x 5 x 1 bit (one column fold) + filter 5 x 2 x 8 = 140 bits; writes:
    outputs 12 x 2 x 12-bit accumulators + the DRAM fills 60 + 80 = 428 bits."""
    monkeypatch.chdir(repo)
    r = run("ptb")
    assert r["cycles"] == 22 and r["macs_effectual"] == 12 * 5 * 2
    assert count(r, "ptb_pe", "cycle") == 64 * 22
    assert bits(r, "dram") == 164 and bits(r, "sram") == 140 + 428


def test_ptb_time_windows(repo, monkeypatch):
    """Two windows of 2 timesteps: two products of (3*2) x 5 x 2, each one fold of 22 cycles, and the
    weights read once per window (twice the filter reads of one window)."""
    monkeypatch.chdir(repo)
    one, two = run("ptb"), run("ptb", **{"params.time_window": 2})
    assert two["cycles"] == 2 * 22 and one.ops.loc[0, "time_windows"] == 1 and two.ops.loc[0, "time_windows"] == 2
    assert bits(two, "sram") - bits(one, "sram") == 5 * 2 * 8
    three = run("ptb", **{"params.time_window": 3})       # windows of 3 and 1 timesteps
    assert three["cycles"] == 22 + 22 and three.ops.loc[0, "time_windows"] == 2
    assert run("ptb", **{"params.time_window": 9})["cycles"] == 22      # a window longer than T: one window


def test_ptb_matches_the_authors_scalesim_runs(repo):
    """Peer tool: the LoAS authors ran PTB through SCALE-Sim; on VGG16 conv3..conv10 our output-stationary
    equations (SCALE-Sim v3) give their cycles within 0.6 % (theirs are 3 cycles per fold shorter: an
    older SCALE-Sim). conv11..conv13 (2 x 2 outputs) they report 4x our cycles, as if the 2 x 2
    output were padded to 4 x 4: kept out of the comparison and documented in docs/models/ptb.md."""
    trace = lp.build_trace("vgg16")
    r = simulate(trace, load_hardware(repo / "hw_configs/ptb.yaml"))
    ours = r.ops["cycles"].tolist()[1:]                   # the authors list conv3..conv13 (no conv2)
    for mine, theirs in zip(ours[:8], AUTHORS_PTB_CYCLES[:8]):
        assert mine == pytest.approx(theirs, rel=0.006)
    for mine, theirs in zip(ours[8:], AUTHORS_PTB_CYCLES[8:]):
        assert theirs / mine == pytest.approx(4.0, rel=0.01)


def test_stellar_by_hand(repo, monkeypatch):
    """Non-silent words of the tiny layer: 5 (of 15); N = 2 output channels on 16 PEs -> one group:
    5 cycles, 5 x 2 = 10 weight x word pairs. SRAM reads: 5 words x 12 bits + 10 weights x 8 = 140;
    writes: outputs 3 x 2 x 4 bits + fills 5 x 8 + 10 x 8 = 144. DRAM: words 40 + dense weights
    80 read, write-back 40 -> 160 bits. Energy: stellar_pe.cycle = 16 x 5."""
    monkeypatch.chdir(repo)
    r = run("stellar")
    assert r["cycles"] == 5 and r["macs_effectual"] == 10
    assert bits(r, "sram") == 140 + 144 and bits(r, "dram") == 160
    assert count(r, "stellar_pe", "cycle") == 16 * 5


def test_stellar_output_groups(repo, monkeypatch):
    """With 1 PE the two output channels take two passes over the words: twice the cycles."""
    monkeypatch.chdir(repo)
    assert run("stellar", **{"params.n_pe": 1})["cycles"] == 10
