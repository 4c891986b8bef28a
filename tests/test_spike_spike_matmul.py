"""The spike x spike matmul (both operands spikes, e.g. STAtten's K^T V): the packed AND-popcount
kernel against its numpy reference, and LoAS and the timestep-serial baselines on a tiny product
computed by hand."""
import numpy as np
import pytest

from archsim.config.hardware import load_hardware
from archsim.engine import simulate
from archsim.kernels.spike_matmul import and_popcount_matmul
from archsim.trace.schema import Role
from tests.helpers import builder


# --- kernel ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("T", [1, 2, 4, 8, 16, 64])
@pytest.mark.parametrize("density", [0.05, 0.5])
def test_kernel_matches_reference(rng, T, density):
    hi = 2**T if T < 64 else 2**63
    a = (rng.integers(0, hi, size=(7, 33), dtype=np.uint64) * (rng.random((7, 33)) < density)).astype(np.uint64)
    b = (rng.integers(0, hi, size=(33, 5), dtype=np.uint64) * (rng.random((33, 5)) < density)).astype(np.uint64)
    got = and_popcount_matmul(a, b)
    assert np.array_equal(got, and_popcount_matmul(a, b, backend="reference"))
    # independent: count bit by bit in Python on a corner of the matrix
    for m in range(3):
        for n in range(3):
            assert got[m, n] == sum(bin(int(a[m, k]) & int(b[k, n])).count("1") for k in range(33))


@pytest.mark.parametrize("a, b, expected", [
    (np.zeros((3, 4), np.uint8), np.full((4, 2), 255, np.uint8), 0),             # A silent
    (np.full((1, 1), 0b1011, np.uint8), np.full((1, 1), 0b0110, np.uint8), 1),   # K = 1: one common bit
    (np.full((2, 3), 0xFFFF, np.uint16), np.full((3, 2), 0xFFFF, np.uint16), 48),  # all fire: 3 x 16
])
def test_kernel_edge_cases(a, b, expected):
    got = and_popcount_matmul(a, b)
    assert np.array_equal(got, and_popcount_matmul(a, b, backend="reference"))
    assert (got == expected).all()


def test_kernel_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[M, K\] x \[K, N\]"):
        and_popcount_matmul(np.zeros((2, 3), np.uint8), np.zeros((2, 3), np.uint8))
    with pytest.raises(ValueError, match="unsigned"):
        and_popcount_matmul(np.zeros((2, 3), np.int8), np.zeros((3, 2), np.uint8))
    with pytest.raises(ValueError, match="backend"):
        and_popcount_matmul(np.zeros((2, 3), np.uint8), np.zeros((3, 2), np.uint8), backend="gpu")


# --- models ------------------------------------------------------------------------------------------

# One head, T = 2: A = K^T [M=2, K=3 tokens], B = V [3, N=2]; words (bit t = timestep t)
A = np.array([[0b11, 0b01, 0b00],
              [0b00, 0b10, 0b00]], dtype=np.uint8)
B = np.array([[0b01, 0b11],
              [0b11, 0b00],
              [0b10, 0b10]], dtype=np.uint8)


def planes(words, T=2):
    return ((words[None] >> np.arange(T)[:, None, None]) & 1).astype(np.uint8)


def kv_trace():
    b = builder(T=2)
    a = b.operand("a", Role.spike, data=planes(A)[:, None])           # [T, 1, 2, 3]
    v = b.operand("b", Role.spike, data=planes(B)[:, None])           # [T, 1, 3, 2]
    b.add("matmul", "kv", operands=[a, v], batch=1, M=2, K=3, N=2, tags={"chunk": 0, "chunk_size": 2})
    return b.build()


def test_loas_spike_spike_by_hand(repo, monkeypatch):
    """Non-silent A words: (0, k0), (0, k1), (1, k1); non-silent B words: (k0, n0), (k0, n1),
    (k1, n0). Matched pairs: row 0: k0 x {n0, n1} + k1 x {n0} = 3; row 1: k1 x {n0} = 1 -> 4
    pairs, TPPE loads [3, 1] -> 3 cycles (paper timing, one tile).
    Values: out[0, 0] = pc(11 & 01) + pc(01 & 11) = 1 + 1 = 2; out[0, 1] = pc(11 & 11) = 2;
    out[1, 0] = pc(10 & 11) = 1; out[1, 1] = 0 -> 5 set bits.
    Energy (per_op, script units): 4 pairs x 5053 pJ = 20212 pJ of TPPE."""
    monkeypatch.chdir(repo)
    r = simulate(kv_trace(), load_hardware("hw_configs/loas_paper.yaml"))
    assert r["cycles"] == 3 and r["macs_effectual"] == 4
    assert r["energy_j_by_component"]["tppe"] == pytest.approx(4 * 5053e-12 + 3 / 800e6 * 16 * 0.03125e-3)
    m = r["metrics"]
    assert m["spike_spike_ones"] == 5
    assert m["silent_neurons"] == 3 and m["neurons"] == 6
    assert r["macs"] == 2 * 3 * 2 * 2          # dense M*K*N x T


def test_loas_spike_spike_per_component(repo, monkeypatch):
    """per_component: one join, two FIFO accesses and a stream-buffer access per pair (4), one
    accumulator add per set bit (5); no laggy prefix sum, no pseudo-accumulator."""
    monkeypatch.chdir(repo)
    r = simulate(kv_trace(), load_hardware("hw_configs/loas.yaml"))
    acts = r.actions.groupby(["component", "action"])["count"].sum()
    assert acts[("tppe_fast_prefix", "use")] == 4 and acts[("tppe_fifo_b", "access")] == 4
    assert acts[("tppe_correction_acc", "add")] == 5
    assert ("tppe_laggy_prefix", "cycle") not in acts and ("tppe_pseudo_acc", "add") not in acts
    assert r["macs_effectual"] == 4


def test_sparten_runs_spike_spike_timestep_by_timestep(repo, monkeypatch):
    """SparTen-S keeps no temporal packing: one product per timestep with B's 0/1 plane as 1-bit
    weights. t0: A0 = [[1,1,0],[0,0,0]], B0 = [[1,1],[1,0],[0,0]] -> pairs n0: k0, k1 = 2, n1: k0 = 1;
    t1: A1 = [[1,0,0],[0,1,0]], B1 = [[0,1],[1,0],[1,1]] -> n0: (1, k1) = 1, n1: (0, k0) = 1.
    PE per B column: t0 loads [2, 1] -> 2 cycles; t1 [1, 1] -> 1. Ops = 5 = the set bits."""
    monkeypatch.chdir(repo)
    r = simulate(kv_trace(), load_hardware("hw_configs/sparten_s_paper.yaml"))
    assert r["cycles"] == 3 and r["macs_effectual"] == 5
