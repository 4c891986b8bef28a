"""EVBMF rank estimation (the TT-SNN rank choice) on matrices whose rank and noise are known."""
import numpy as np
import pytest

from workloads.papers.ttsnn.vbmf import conv_rank, evbmf_rank


@pytest.mark.parametrize("rank, shape", [(5, (64, 576)), (12, (128, 1152)), (3, (300, 40))])
def test_recovers_the_rank_of_signal_plus_noise(rng, rank, shape):
    """Y = U V^T (singular values well above the noise edge) + unit Gaussian noise: the rank is
    recovered and the noise variance estimated within 5 %."""
    L, M = shape
    U, V = rng.normal(size=(L, rank)), rng.normal(size=(rank, M))
    Y = 3 * U @ V + rng.normal(size=shape)
    got, sigma2 = evbmf_rank(Y)
    assert got == rank
    assert sigma2 == pytest.approx(1.0, rel=0.05)


def test_pure_noise_and_zero():
    rng = np.random.default_rng(1)
    assert evbmf_rank(rng.normal(size=(64, 576)))[0] == 0
    assert evbmf_rank(np.zeros((8, 9))) == (0, 0.0)


def test_conv_rank_reads_the_mode_0_unfolding(rng):
    """A conv weight whose Cout x Cin*9 unfolding is rank 4 plus noise gives 4; a noise weight
    gives 0 in both unfoldings (the untrained layers of the authors' rank script)."""
    cout, cin = 64, 32
    w = (3 * rng.normal(size=(cout, 4)) @ rng.normal(size=(4, cin * 9)) + rng.normal(size=(cout, cin * 9)))
    assert conv_rank(w.reshape(cout, cin, 3, 3)) == 4
    bound = 1 / np.sqrt(cin * 9)                         # PyTorch's default conv initialisation
    assert conv_rank(rng.uniform(-bound, bound, size=(cout, cin, 3, 3))) == 0


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 rows"):
        evbmf_rank(np.ones((1, 5)))
