"""TT-SVD of conv weights into TT-SNN's four cores: exact at full rank, exact on a tensor built
with small TT ranks, and the cores as convolutions give the original convolution."""
import numpy as np
import pytest

from workloads.papers.ttsnn.decompose import conv_cores, reconstruct, tt_svd


def test_full_rank_is_exact(rng):
    w = rng.normal(size=(6, 4, 3, 3))
    cores = tt_svd(w, rank=100)
    assert np.allclose(reconstruct(*cores), w)


def test_recovers_a_low_tt_rank_tensor(rng):
    """W built from random cores of rank 3 is recovered exactly at rank 3, not at rank 2."""
    c1, c2, c3, c4 = rng.normal(size=(8, 3)), rng.normal(size=(3, 3, 3)), rng.normal(size=(3, 3, 3)), rng.normal(size=(3, 10))
    w = reconstruct(c1, c2, c3, c4)
    assert np.allclose(reconstruct(*tt_svd(w, 3)), w)
    assert not np.allclose(reconstruct(*tt_svd(w, 2)), w, atol=1e-3)
    assert [c.shape for c in tt_svd(w, 3)] == [(8, 3), (3, 3, 3), (3, 3, 3), (3, 10)]


def _conv(x, w, pad):
    """Direct 2-D convolution (cross-correlation) of x [C, H, W] with w [O, C, kh, kw], stride 1."""
    ph, pw = pad
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    O, C, kh, kw = w.shape
    H, W = xp.shape[1] - kh + 1, xp.shape[2] - kw + 1
    out = np.zeros((O, H, W))
    for a in range(kh):
        for b in range(kw):
            out += np.einsum("oc,chw->ohw", w[:, :, a, b], xp[:, a:a + H, b:b + W])
    return out


def test_cores_as_convolutions(rng):
    """G4(G3(G2(G1 x))) with paddings (0,0), (1,0), (0,1), (0,0) equals the 3x3 conv (pad 1) of
    the reconstructed weight."""
    w = rng.normal(size=(5, 4, 3, 3))
    g1, g2, g3, g4 = conv_cores(w, 2)
    assert g1.shape == (2, 4, 1, 1) and g2.shape == (2, 2, 3, 1) and g3.shape == (2, 2, 1, 3) and g4.shape == (5, 2, 1, 1)
    x = rng.normal(size=(4, 7, 6))
    y = _conv(_conv(_conv(_conv(x, g1, (0, 0)), g2, (1, 0)), g3, (0, 1)), g4, (0, 0))
    assert np.allclose(y, _conv(x, reconstruct(*tt_svd(w, 2)), (1, 1)))


def test_bad_input():
    with pytest.raises(ValueError, match="conv weight"):
        tt_svd(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match="rank must be"):
        tt_svd(np.zeros((2, 2, 3, 3)), 0)
