"""The programming kernels (archsim/kernels/programming.py) against their numpy references: write
noise of every kind with the clip, and the integer grids, on seeded random and edge-case cells."""
import numpy as np
import pytest

from archsim.kernels.programming import NOISE_KINDS, grids, write_noise


@pytest.mark.parametrize("kind", list(NOISE_KINDS))
@pytest.mark.parametrize("shape", [(1,), (3, 7), (2, 33, 65)])
def test_write_noise_matches_reference(rng, kind, shape):
    G = rng.uniform(0.0, 12.0, shape)
    G.flat[0] = 0.0                                   # below g_min: txsim's max(., 0)
    eps = rng.normal(0.0, 0.4, shape)                 # large: some results below 0 and above the ceiling
    args = (G, eps, kind, 3.0, 0.1, 10.0, 20.0)
    ref = write_noise(*args, backend="reference")
    np.testing.assert_array_equal(write_noise(*args), ref)
    assert ref.min() >= 0.0 and ref.max() <= 20.0
    if kind != "none" and G.size > 1:
        assert not np.array_equal(ref, np.clip(G, 0.0, 20.0))   # the noise did something


@pytest.mark.parametrize("dtypes", [(np.int32, np.int32), (np.int64, np.int32), (np.int64, np.int64)])
def test_grids_match_reference(rng, dtypes):
    G_us = rng.uniform(0.0, 20.0, (4, 9, 17))
    G_us.flat[:3] = [0.0, 0.05 * 2 ** -10 * 2.5, 0.05 * 2 ** -10 * 3.5]   # ties: rint rounds half to even
    ref = grids(G_us, 0.05, 2.0 ** 10, 2.0 ** 6, *dtypes, backend="reference")
    got = grids(G_us, 0.05, 2.0 ** 10, 2.0 ** 6, *dtypes)
    for a, b, dt in zip(got, ref, dtypes):
        assert a.dtype == b.dtype == dt
        np.testing.assert_array_equal(a, b)
    assert ref[0].flat[1] == 2 and ref[0].flat[2] == 4


def test_write_noise_rejects_mismatched_draws(rng):
    with pytest.raises(ValueError, match="differ in shape"):
        write_noise(np.ones(4), np.ones(3), "txsim", 3.0, 0.1, 10.0, 20.0)


@pytest.mark.parametrize("signed_weights", ["offset", "differential"])
@pytest.mark.parametrize("bits,bpc", [(8, 2), (8, 1), (4, 3), (6, 6)])
def test_weight_levels_match_reference(rng, signed_weights, bits, bpc):
    from archsim.kernels.programming import weight_levels

    top = 2 ** (bits - 1) - 1
    wq = rng.integers(-top, top + 1, (3, 10, 7))
    wq[0, 0, :2] = [top, -top]
    perm = rng.permutation(10)[:8]
    ref = weight_levels(wq, perm, bits, bpc, signed_weights, 0.1, 10.0, backend="reference")
    np.testing.assert_array_equal(weight_levels(wq, perm, bits, bpc, signed_weights, 0.1, 10.0), ref)
    assert ref.shape[:2] == (3, 8) and ref.min() >= 0.1 and ref.max() <= 10.0 + 1e-12
