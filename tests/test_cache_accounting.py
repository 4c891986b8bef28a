"""Element-level buffer hits and misses and the DRAM value/metadata split (ops.csv and summary)
of LoAS and its dual-sparse baselines: by hand on the tiny layer, a tile reused across row tiles,
and the invariants on a random stored layer for all four designs."""
import numpy as np
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.trace.schema import Role
from tests.helpers import builder, random_spikes
from tests.test_loas_models import tiny_trace

DESIGNS = ("loas_paper", "sparten_s_paper", "gospa_s_paper", "gamma_s_paper")
STREAMS = ("weights", "spikes", "writeback", "psums")


def run(hw, trace):
    return simulate(trace, load_hardware(f"hw_configs/{hw}.yaml"))


def test_loas_tiny_by_hand(repo, monkeypatch):
    """One tile: the 4 nonzero weights and the 5 non-silent words are requested once and both tiles
    miss. DRAM: weights 4 x 8 value bits + 10 bitmask bits, spikes 5 x 4 + 15, write-back 5 x 4 + 15."""
    monkeypatch.chdir(repo)
    m = run("loas_paper", tiny_trace()).summary["metrics"]
    assert (m["cache.weight_elements"], m["cache.weight_element_hits"], m["cache.weight_element_misses"]) == (4, 0, 4)
    assert (m["cache.spike_elements"], m["cache.spike_element_misses"], m["cache.spike_miss_rate"]) == (5, 5, 1.0)
    assert m["dram_values_bytes.weights"] * 8 == 32 and m["dram_metadata_bytes.weights"] * 8 == 10
    assert m["dram_values_bytes.spikes"] * 8 == 20 and m["dram_metadata_bytes.spikes"] * 8 == 15
    assert m["dram_values_bytes.writeback"] * 8 == 20 and m["dram_metadata_bytes.writeback"] * 8 == 15


def reuse_trace(rows=32, ops=1):
    """Two 16-row tiles of A with the same (single) weight tile: LoAS (mntk) requests the weight
    tile twice and finds it resident the second time."""
    rng = np.random.default_rng(1)
    b = builder(T=4)
    for i in range(ops):
        x = b.operand("input", Role.spike, data=random_spikes(rng, 4, (rows, 40), 0.3))
        w = rng.integers(-5, 6, size=(6, 40)).astype(np.int8)
        w[rng.random(w.shape) < 0.5] = 0
        b.add("linear", f"fc{i}", operands=[x, b.operand("weight", Role.static_weight, data=w, bits=8)],
              tokens=rows, in_features=40, out_features=6)
    return b.build(), int(np.count_nonzero(w))


def test_reused_weight_tile_hits_per_element(repo, monkeypatch):
    monkeypatch.chdir(repo)
    trace, w_nnz = reuse_trace()
    r = run("loas_paper", trace)
    m = r.summary["metrics"]
    assert m["cache.weight_elements"] == 2 * w_nnz and m["cache.weight_element_hits"] == w_nnz
    assert m["cache.weight_miss_rate"] == 0.5
    assert r.ops.loc[0, "cache.weight_miss_rate"] == 0.5         # the ops.csv column


@pytest.mark.parametrize("hw", DESIGNS)
def test_split_adds_up_and_rates_are_recomputed(repo, monkeypatch, hw):
    """Invariants: values + metadata = the stream's DRAM bytes; hits + misses = elements; the
    summary's miss rate is the ratio of the summed counts, not a sum of per-op rates."""
    monkeypatch.chdir(repo)
    trace, _ = reuse_trace(48, ops=2)
    r = run(hw, trace)
    m = r.summary["metrics"]
    for s in STREAMS:
        if f"dram_bytes.{s}" in m:
            assert m[f"dram_values_bytes.{s}"] + m[f"dram_metadata_bytes.{s}"] == pytest.approx(m[f"dram_bytes.{s}"])
    for o in ("weight", "spike"):
        assert m[f"cache.{o}_element_hits"] + m[f"cache.{o}_element_misses"] == m[f"cache.{o}_elements"]
        assert m[f"cache.{o}_miss_rate"] == pytest.approx(m[f"cache.{o}_element_misses"] / m[f"cache.{o}_elements"])
        assert 0 <= m[f"cache.{o}_miss_rate"] <= 1
