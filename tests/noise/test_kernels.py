"""Numba kernels against their numpy references (seeded random and edge-case inputs)."""
import numpy as np
import pytest

from archsim.kernels.crossbar import ADC_DYNAMIC, ADC_FIXED, ADC_IDEAL, crossbar_mvm, normal
from archsim.kernels.ir_drop import ir_drop_currents


def mvm_case(rng, P=3, M=7, K=37, NC=300, dmax=1, dtype=np.int64, starts=(0, 16, 30, 37)):
    digits = rng.integers(0, dmax + 1, (P, M, K)).astype(np.uint8)
    G = rng.integers(100, 300_000, (K, NC)).astype(dtype)
    G2 = (rng.integers(1, 3000, (K, NC)) ** 2).astype(dtype)
    starts = np.array(starts)
    pw = np.array([1.0, 2.0, 4.0, -8.0, 16.0][:P])
    fs = np.linspace(60.0, 100.0, len(starts) - 1)
    return digits, G, G2, starts, pw, fs


@pytest.mark.parametrize("mode", [ADC_IDEAL, ADC_FIXED, ADC_DYNAMIC])
@pytest.mark.parametrize("sigma", [0.0, 0.07])
@pytest.mark.parametrize("dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dmax", [1, 3])
def test_crossbar_mvm_matches_reference(rng, mode, sigma, dtype, dmax):
    d, G, G2, starts, pw, fs = mvm_case(rng, dmax=dmax, dtype=dtype)
    args = (d, G, G2, starts, pw, 1500, 2.0 ** -16, 2.0 ** -6, sigma, 987654321, mode, 5, fs)
    a = crossbar_mvm(*args, backend="reference")
    b = crossbar_mvm(*args)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() > 0


@pytest.mark.parametrize("shape", [dict(P=1, M=1, K=1, NC=1, starts=(0, 1)),
                                   dict(P=2, M=3, K=5, NC=129, starts=(0, 5)),
                                   dict(P=1, M=2, K=64, NC=1, starts=(0, 1, 2, 64))])
@pytest.mark.parametrize("mode", [ADC_FIXED, ADC_DYNAMIC])
def test_crossbar_mvm_edge_shapes(rng, shape, mode):
    d, G, G2, starts, pw, fs = mvm_case(rng, **shape)
    args = (d, G, G2, starts, pw, 0, 2.0 ** -16, 2.0 ** -8, 0.1, 3, mode, 4, fs)
    np.testing.assert_array_equal(crossbar_mvm(*args, backend="reference"), crossbar_mvm(*args))


def test_crossbar_mvm_zero_inputs_and_constant_tensor(rng):
    """No input bit set: every read is 0 (the dynamic range collapses to a constant tensor)."""
    d, G, G2, starts, pw, fs = mvm_case(rng)
    d[:] = 0
    for mode in (ADC_FIXED, ADC_DYNAMIC):
        for backend in ("numba", "reference"):
            out = crossbar_mvm(d, G, G2, starts, pw, 1500, 2.0 ** -16, 2.0 ** -8, 0.1, 1, mode, 5, fs, backend=backend)
            assert not out.any()


def test_crossbar_mvm_rejects_bad_shapes(rng):
    d, G, G2, starts, pw, fs = mvm_case(rng)
    with pytest.raises(ValueError, match="row-group starts"):
        crossbar_mvm(d, G, G2, np.array([0, 40]), pw, 0, 1.0, 1.0, 0.0, 1, 1, 5, fs[:1])
    with pytest.raises(ValueError, match="int32 or int64"):
        crossbar_mvm(d, G.astype(float), G2, starts, pw, 0, 1.0, 1.0, 0.0, 1, 1, 5, fs)


def test_normal_matches_reference_and_is_normal():
    """2e6 counter-based draws: identical on both backends (tail and wedge paths included);
    mean 0, variance 1, skew 0, kurtosis 3 within 5 standard errors; tails at the normal rate."""
    c = np.arange(2_000_000, dtype=np.uint64) * np.uint64(7919)
    a, b = normal(12345, c), normal(12345, c, backend="reference")
    np.testing.assert_array_equal(a, b)
    n = a.size
    assert abs(a.mean()) < 5 / np.sqrt(n)
    assert abs(a.var() - 1) < 5 * np.sqrt(2 / n)
    assert abs((a ** 3).mean()) < 5 * np.sqrt(15 / n)
    assert abs((a ** 4).mean() - 3) < 5 * np.sqrt(96 / n)
    tail = np.mean(np.abs(a) > 3.6541528853610088)   # beyond the ziggurat's base layer
    assert tail == pytest.approx(2.58e-4, rel=0.15)
    from math import erf, sqrt
    for q in (-2.0, -1.0, 0.5, 1.5):
        assert np.mean(a < q) == pytest.approx(0.5 * (1 + erf(q / sqrt(2))), abs=5 * np.sqrt(0.25 / n))


def test_normal_draws_depend_only_on_key_and_counter():
    c = np.array([5, 1, 99, 1 << 40], dtype=np.uint64)
    a = normal(7, c)
    np.testing.assert_array_equal(normal(7, c[::-1]), a[::-1])
    assert not np.array_equal(normal(8, c), a)


@pytest.mark.parametrize("R,C,r", [(1, 1, 10.0), (4, 3, 50.0), (9, 7, 5.0)])
def test_ir_drop_kernel_matches_reference(rng, R, C, r):
    G = rng.uniform(1e-6, 1e-4, (R, C))
    V = rng.integers(0, 2, (4, R)) * 0.2
    a, ia = ir_drop_currents(G, V, r, 2 * r, tol=1e-12, backend="reference")
    b, ib = ir_drop_currents(G, V, r, 2 * r, tol=1e-12)
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-20)
    assert ia == ib


def test_ir_drop_zero_resistance_is_ideal(rng):
    G = rng.uniform(1e-6, 1e-4, (6, 5))
    V = rng.uniform(0, 0.2, (3, 6))
    cur, it = ir_drop_currents(G, V, 0.0, 0.0)
    np.testing.assert_allclose(cur, V @ G, rtol=1e-14)
    assert it == 1


@pytest.mark.parametrize("mode", [ADC_IDEAL, ADC_FIXED, ADC_DYNAMIC])
@pytest.mark.parametrize("sigma", [0.0, 0.07])
@pytest.mark.parametrize("NC", [40, 700])
def test_crossbar_mvm_batch_matches_reference_on_every_schedule(rng, mode, sigma, NC):
    """A batch of products (one key each) equals the reference product by product, whichever
    schedule runs it: per product (``local``) or per column chunk, one chunk or several."""
    from archsim.kernels.crossbar import _chunk_width, _crossbar_mvm, crossbar_mvm_batch
    B, P, M, K = 3, 3, 5, 70
    starts = np.array([0, 64, 70])
    d = rng.integers(0, 2, (B, P, M, K)).astype(np.uint8)
    G = rng.integers(100, 300_000, (B, K, NC)).astype(np.int32)
    G2 = (rng.integers(1, 3000, (B, K, NC)) ** 2).astype(np.int32)
    keys = np.array([11, 12, 2 ** 63 + 5], dtype=np.uint64)
    pw, fs = np.array([1.0, 2.0, -4.0]), np.array([60.0, 90.0])
    args = (d, G, G2, starts, pw, np.int64(1500), 2.0 ** -16, 2.0 ** -6, sigma, keys, mode, 5, fs)
    ref = crossbar_mvm_batch(*args, backend="reference")
    for b in range(B):
        np.testing.assert_array_equal(ref[b], crossbar_mvm(d[b], G[b], G2[b], starts, pw, 1500, 2.0 ** -16, 2.0 ** -6,
                                                           sigma, keys[b], mode, 5, fs, backend="reference"))
    np.testing.assert_array_equal(crossbar_mvm_batch(*args), ref)
    width = _chunk_width(starts, NC, 4, sigma > 0, True)
    assert (width < NC) == (NC == 700)
    for local in (False, True):
        np.testing.assert_array_equal(_crossbar_mvm(*args, True, width, local), ref)
    assert np.abs(ref).max() > 0


def test_crossbar_mvm_batch_rejects_mismatched_keys(rng):
    from archsim.kernels.crossbar import crossbar_mvm_batch
    d, G, G2, starts, pw, fs = mvm_case(rng)
    with pytest.raises(ValueError, match="one noise key per product"):
        crossbar_mvm_batch(d[None], G[None], G2[None], starts, pw, 0, 1.0, 1.0, 0.0, [1, 2], 1, 5, fs)
