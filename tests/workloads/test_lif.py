"""LIF dynamics against hand-computed sequences; the fused kernels against their references."""
import numpy as np
import pytest
import torch

from workloads.snn import lif_kernels as K
from workloads.snn.neuron import LIF, lif_sequence, lif_sequence_reference, set_drop_single_spike


def run(lif, currents):
    """One neuron, one sample: currents [T] -> spikes [T]."""
    x = torch.tensor(currents, dtype=torch.float64).view(len(currents), 1)
    return lif_sequence(x, lif).view(-1).tolist()


def test_loas_lif_hand_computed():
    """tau = 4/3 (keep 0.25 of the membrane, inputs scaled by 0.75), threshold 1, hard reset to 0:

    t0: H = 0.75*1.5                = 1.125    >= 1 -> spike, V = 0
    t1: H = 0.75*0.5                = 0.375            V = 0.375
    t2: H = 0.25*0.375 + 0.75*2.0   = 1.59375  >= 1 -> spike, V = 0
    t3: H = 0.75*0.2                = 0.15             V = 0.15
    t4: H = 0.25*0.15 + 0.75*1.3    = 1.0125   >= 1 -> spike
    t5: H = 0.75*1.2                = 0.9              (just under: no spike)
    """
    assert run(LIF(), [1.5, 0.5, 2.0, 0.2, 1.3, 1.2]) == [1, 0, 1, 0, 1, 0]


def test_soft_and_hard_reset_hand_computed():
    """tau = 2, no input decay (H = 0.5*V + X), threshold 1, input [3, 0, 0]:

    hard: t0 H = 3 spike, V = 0; t1 H = 0; t2 H = 0                    -> [1, 0, 0]
    soft: t0 H = 3 spike, V = 2; t1 H = 1 spike, V = 0; t2 H = 0       -> [1, 1, 0]
    """
    assert run(LIF(tau=2.0, decay_input=False), [3, 0, 0]) == [1, 0, 0]
    assert run(LIF(tau=2.0, decay_input=False, v_reset=None), [3, 0, 0]) == [1, 1, 0]


def test_leak_hand_computed():
    """No reset involved: tau = 2 with input decay keeps half: H = 0.5*V + 0.5*X.
    X = [1.2, 1.2, 1.2]: H = 0.6, 0.9, 1.05 -> the third step fires."""
    assert run(LIF(tau=2.0), [1.2, 1.2, 1.2]) == [0, 0, 1]


def test_surrogate_gradient_hand_computed():
    """One step, H - v_th = 0 exactly (X = 4/3 * 1 at tau 4/3 is not exact in binary, so use
    tau 2 without input decay: H = X = 1). ATan surrogate at 0: alpha/2 = 1; dH/dX = 1."""
    x = torch.tensor([[1.0]], dtype=torch.float64, requires_grad=True)
    lif_sequence(x, LIF(tau=2.0, decay_input=False)).sum().backward()
    assert x.grad.item() == pytest.approx(1.0)
    # at H - v_th = 1: alpha/2 / (1 + (pi/2*alpha)^2) = 1 / (1 + pi^2)
    x = torch.tensor([[2.0]], dtype=torch.float64, requires_grad=True)
    lif_sequence(x, LIF(tau=2.0, decay_input=False)).sum().backward()
    assert x.grad.item() == pytest.approx(1 / (1 + np.pi ** 2))


@pytest.mark.parametrize("v_reset", [0.0, None, -0.3])
@pytest.mark.parametrize("decay_input", [True, False])
@pytest.mark.parametrize("detach_reset", [True, False])
def test_fused_equals_autograd_reference(rng, v_reset, decay_input, detach_reset):
    lif = LIF(tau=4 / 3, v_reset=v_reset, decay_input=decay_input, detach_reset=detach_reset)
    x = torch.tensor(rng.normal(0.5, 1.5, (5, 7, 11)), requires_grad=True)
    g = torch.tensor(rng.normal(size=(5, 7, 11)))
    a = lif_sequence(x, lif)
    (a * g).sum().backward()
    ga, x.grad = x.grad.clone(), None
    b = lif_sequence_reference(x, lif)
    (b * g).sum().backward()
    assert torch.equal(a, b)
    assert torch.allclose(ga, x.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("T,N", [(4, 257), (1, 5), (6, 1), (3, 0)])
def test_numba_kernels_equal_numpy_reference(rng, soft, T, N):
    x = rng.normal(0.6, 1.0, (T, N)).astype(np.float32)
    x[:, :2] = 4 / 3          # edge: exactly at threshold after scaling (float rounding decides alike)
    args = (0.25, 0.75, 1.0, 0.0, soft)
    h1, s1 = K.lif_forward(x, *args, backend="numba")
    h2, s2 = K.lif_forward(x, *args, backend="reference")
    assert np.array_equal(s1, s2) and np.allclose(h1, h2, rtol=1e-6, atol=1e-6)
    g = rng.normal(size=(T, N)).astype(np.float32)
    for detach in (True, False):
        b1 = K.lif_backward(g, h1, s1, *args, 2.0, detach, backend="numba")
        b2 = K.lif_backward(g, h2, s2, *args, 2.0, detach, backend="reference")
        assert np.allclose(b1, b2, rtol=1e-5, atol=1e-6)


def test_multistep_layout_and_strong_mode():
    """[T*B, ...] timestep-major. With drop_single_spike, a neuron firing once in T is silenced
    at every timestep; one firing twice is kept. tau 2 without decay, threshold 1:
    neuron a: X = [2, 0, 0, 0] -> spikes [1, 0, 0, 0] (once: dropped)
    neuron b: X = [2, 2, 0, 0] -> spikes [1, 1, 0, 0] (twice: kept)"""
    lif = LIF(tau=2.0, decay_input=False, timesteps=4)
    x = torch.tensor([[2.0, 2.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])   # [T*B=4, 2 neurons], B = 1
    assert lif(x).tolist() == [[1, 1], [0, 1], [0, 0], [0, 0]]
    set_drop_single_spike(lif, True)
    assert lif(x).tolist() == [[0, 1], [0, 1], [0, 0], [0, 0]]


def test_bad_settings():
    with pytest.raises(ValueError, match="tau"):
        LIF(tau=0.5)
    with pytest.raises(ValueError, match="multiple of T"):
        LIF(timesteps=4)(torch.zeros(6, 3))
