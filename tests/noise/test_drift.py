"""Conductance drift: the Numba kernel against its numpy reference (seeded random and edge
cases), the power law and its compensation against our derivation, presets against aihwkit's
published coefficients."""
import math

import numpy as np
import pytest

from archsim.arch.imc.params import Drift
from archsim.errors import ConfigError
from archsim.kernels.drift import drift
from archsim.noise import CrossbarSpec, matmul, program
from archsim.noise.drift import PRESETS, coefficients, compensation_scale, drift_conductances

PCM = PRESETS["pcm"]


@pytest.mark.parametrize("coef", [(PCM.mu_coef, PCM.sig_coef),
                                  ((0.0, 0.05, -math.inf, math.inf), (0.0, 0.02, -math.inf, math.inf)),
                                  ((0.0, 0.05, -math.inf, math.inf), (0.0, 0.0, -math.inf, math.inf))])
@pytest.mark.parametrize("shape", [(1,), (7, 3), (64, 300), (5000,)])
@pytest.mark.parametrize("levels", [None, 4, 200])
def test_drift_kernel_matches_reference(rng, coef, shape, levels):
    """Continuous targets, and targets on a few programmed levels (the kernel's per-level cache of
    mu and sig: hits, and with 200 levels collisions of its 64 slots), signs and zeros included."""
    if levels is None:
        target = rng.uniform(0.0, 25.0, shape)
    else:
        target = rng.choice(np.linspace(-25.0, 25.0, levels), shape)
        target.flat[-1] = -0.0
    target.flat[0] = 0.0                                   # zero conductance: the log floor
    G = np.clip(target + rng.normal(0, 0.5, shape), 0, None)
    a = drift(G, target, 25.0, *coef, math.log1p(3600 / 20), 12345, backend="reference")
    b = drift(G, target, 25.0, *coef, math.log1p(3600 / 20), 12345)
    np.testing.assert_allclose(b, a, rtol=1e-13, atol=0)
    assert np.all(b <= G + 1e-12) and (G.size == 1 or np.any(b < G))   # drift only lowers conductances


def test_drift_zero_time_is_identity(rng):
    G = rng.uniform(0, 10, (4, 4))
    for backend in ("numba", "reference"):
        np.testing.assert_array_equal(drift(G, G, 10.0, PCM.mu_coef, PCM.sig_coef, 0.0, 1, backend=backend), G)


def test_drift_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        drift(np.ones(3), np.ones(4), 1.0, PCM.mu_coef, PCM.sig_coef, 1.0, 0)
    with pytest.raises(ValueError, match="log_ratio"):
        drift(np.ones(3), np.ones(3), 1.0, PCM.mu_coef, PCM.sig_coef, -1.0, 0)


def test_constant_nu_gives_the_power_law():
    """nu_std 0: every device drifts by exactly (1 + t/t0)^-nu (our derivation)."""
    d = Drift(model="power_law", time_s=86400.0, t0_s=1.0, nu_mean=0.05, nu_std=0.0)
    G = np.full((3, 5), 8.0)
    out = drift_conductances(G, G, d, 10.0, seed=0)
    np.testing.assert_allclose(out, 8.0 * (1 + 86400.0) ** -0.05, rtol=1e-14)


def test_pcm_preset_nu_statistics():
    """At G = G_max aihwkit's fit gives mu = clip(0.0244, 0.049, 0.1) = 0.049 and sigma =
    clip(-0.0059, 0.008, 0.045) = 0.008: the drawn exponents have that mean and spread."""
    d = Drift(model="pcm", time_s=3600.0)
    G = np.full(200_000, 25.0)
    out = drift_conductances(G, G, d, 25.0, seed=4)
    nu = -np.log(out / G) / math.log1p(3600.0 / 20.0)
    assert abs(nu.mean() - 0.049) < 3 * 0.008 / math.sqrt(nu.size) + 1e-4
    assert abs(nu.std() - 0.008) < 2e-4
    # low conductances drift faster (aihwkit: mu rises as ln(G/G_max) falls), up to the 0.1 cap
    lo = drift_conductances(np.full(50_000, 0.25), np.full(50_000, 0.25), d, 25.0, seed=4)
    nu_lo = -np.log(lo / 0.25) / math.log1p(3600.0 / 20.0)
    assert abs(nu_lo.mean() - min(max(-0.0155 * math.log(0.01) + 0.0244, 0.049), 0.1)) < 2e-3


def test_drift_schema_errors():
    with pytest.raises(ValueError, match="power_law"):
        Drift(model="power_law", time_s=1.0)
    with pytest.raises(ValueError, match="fixes its coefficients"):
        Drift(model="pcm", nu_mean=0.1)
    assert coefficients(Drift(model="rram")).t0_s == 1.0


def _spec(**drift):
    return CrossbarSpec(rows=32, cols=64, bits_per_cell=2, weight_bits=8, input_bits=8, g_min_us=0.25,
                        g_max_us=25.0, ideal_adc=True, signed_weights="differential", drift=Drift(**drift))


def test_drift_shrinks_outputs_and_compensation_restores_them(rng):
    W = rng.normal(0, 1, (64, 16))
    x = rng.uniform(0, 1, (20, 64))
    exact = matmul(x, program(W, _spec(), seed=1), seed=2)
    year = 3.15e7
    drifted = matmul(x, program(W, _spec(model="pcm", time_s=year), seed=1), seed=2)
    comp = matmul(x, program(W, _spec(model="pcm", time_s=year, compensation="global"), seed=1), seed=2)
    err = lambda y: np.linalg.norm(y - exact) / np.linalg.norm(exact)  # noqa: E731
    shrink = np.linalg.norm(drifted) / np.linalg.norm(exact)
    assert 0.3 < shrink < 0.8                    # (1 + 1 y / 20 s)^-0.05..-0.1
    assert err(comp) < 0.5 * err(drifted)
    # dynamic operands (written per call) do not drift
    dyn = program(W, _spec(model="pcm", time_s=year), seed=1, dynamic=True)
    np.testing.assert_array_equal(dyn.G, program(W, _spec(), seed=1, dynamic=True).G)


def test_compensation_scale_of_uniform_drift():
    G0 = np.full((4, 3), 5.0)
    assert compensation_scale(G0, G0 * 0.5 + 0.5 * 1.0, 1.0) == pytest.approx(2.0)


def test_drift_time_tag_and_from_hardware(tmp_path):
    spec = _spec(model="rram").for_tags({"noise.drift_time_s": 60.0})
    assert spec.drift.time_s == 60.0 and spec.drift.model == "rram"
    with pytest.raises(ConfigError):
        _spec().for_tags({"noise.drift_time": 1.0})


def test_write_transform_from_the_hardware_equals_the_explicit_transform(rng):
    """noise.write_transform clipformer applies ClipFormer to every written (dynamic) operand, as
    passing ClipFormerTransform does; static operands are untouched; offset encoding is refused."""
    from archsim.arch.imc.params import ImcParams, WriteTransform
    from archsim.noise import ClipFormerTransform

    W = rng.normal(0, 1, (40, 12))
    spec = _spec().replace(write_transform=WriteTransform(kind="clipformer", alpha=2.0, beta=0.5))
    a = program(W, spec, seed=3, dynamic=True)
    b = program(W, _spec(), seed=3, dynamic=True, transform=ClipFormerTransform(2.0, 0.5))
    np.testing.assert_array_equal(a.G, b.G)
    assert not np.array_equal(a.G, program(W, _spec(), seed=3, dynamic=True).G)
    np.testing.assert_array_equal(program(W, spec, seed=3).G, program(W, _spec(), seed=3).G)
    base = dict(crossbar={"rows": 8, "cols": 8, "bits_per_cell": 2}, weight_bits=8, adc={"bits": 6},
                pe={"crossbars": 1, "cycle_clocks": 1}, tile={"pes": 1},
                noise={"write_transform": {"kind": "clipformer"}})
    with pytest.raises(ValueError, match="differential"):
        ImcParams.model_validate(base)
    ImcParams.model_validate({**base, "mapping": {"signed_weights": "differential"}})
