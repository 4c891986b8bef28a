"""Conductance drift presets and the drift step of :func:`archsim.noise.program`.

A programmed cell drifts as ``G(t) = G (1 + t/t0)^(-nu)`` (``t`` after programming), each device
with its own ``nu`` (the kernel, :mod:`archsim.kernels.drift`, has the equations). The presets
(``noise.drift.model``) and where their coefficients come from:

* ``pcm``: aihwkit ``PCMLikeNoiseModel`` (IBM/aihwkit ``src/aihwkit/inference/noise/pcm.py``,
  ``generate_drift_coefficients``; fitted on 1M doped-GST PCM devices, Nandakumar et al., ICECS
  2019): ``mu = clip(-0.0155 ln(G/G_max) + 0.0244, 0.049, 0.1)``, ``sigma = clip(-0.0125
  ln(G/G_max) - 0.0059, 0.008, 0.045)``, ``t0 = 20 s``.
* ``rram``: a constant ``nu`` mean 0.002, std 0.001, ``t0 = 1 s``. Derived, not published as a
  power law: aihwkit's ``ReRamCMONoiseModel`` (``reram_cmo.py``, CMO/HfOx devices, Falcone et
  al.) fits the mean conductance decay as ``-0.089 uS`` per e-fold of time, which over its
  10-90 uS characterisation range is ``nu = 0.089 / G`` ~ 0.002 at the mid-range 50 uS; the std
  (half the mean) is assumed. ``source: assumed`` for the power-law form.
* ``power_law``: ``nu ~ |N(nu_mean, nu_std^2)|`` with the given ``t0_s``.

**Global drift compensation** (``compensation: global``, aihwkit's ``GlobalDriftCompensation``):
after programming, the chip reads every array once with an all-ones input and stores the
summed absolute column outputs; at time ``t`` it reads again and scales that array's outputs by
the ratio. Here both reads are the noise-free column sums (minus the G_min reference) of the
conductances after programming and after drift.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from archsim.arch.imc.params import Drift
from archsim.kernels import drift as dk

INF = math.inf


@dataclass(frozen=True)
class DriftPreset:
    mu_coef: tuple[float, float, float, float]      # slope (per ln(G/G_max)), intercept, low, high
    sig_coef: tuple[float, float, float, float]
    t0_s: float
    source: str


PRESETS: dict[str, DriftPreset] = {
    "pcm": DriftPreset(
        mu_coef=(-0.0155, 0.0244, 0.049, 0.1), sig_coef=(-0.0125, -0.0059, 0.008, 0.045), t0_s=20.0,
        source="aihwkit PCMLikeNoiseModel.generate_drift_coefficients (IBM/aihwkit inference/noise/pcm.py); "
               "Nandakumar et al., ICECS 2019"),
    "rram": DriftPreset(
        mu_coef=(0.0, 0.002, -INF, INF), sig_coef=(0.0, 0.001, -INF, INF), t0_s=1.0,
        source="assumed power law; mean derived from aihwkit ReRamCMONoiseModel's decay of -0.089 uS per "
               "e-fold of time at 50 uS (nu = 0.089/50), std assumed half the mean"),
}


def coefficients(d: Drift) -> DriftPreset:
    """The preset of ``d.model``, or the constant-nu law of ``power_law``."""
    if d.model == "power_law":
        std = d.nu_std or 0.0
        return DriftPreset(mu_coef=(0.0, d.nu_mean, -INF, INF), sig_coef=(0.0, std, -INF, INF), t0_s=d.t0_s,
                           source="given (params.noise.drift)")
    return PRESETS[d.model]


def drift_conductances(G_us: np.ndarray, target_us: np.ndarray, d: Drift, g_max_us: float, seed: int,
                       backend: str = "numba") -> np.ndarray:
    """``G_us`` (programmed) drifted to ``d.time_s``; ``target_us`` (the conductances aimed at)
    sets each device's nu distribution. One nu per device, seeded by ``seed``."""
    if d.model == "none" or d.time_s == 0.0:
        return np.array(G_us, dtype=np.float64, copy=True)
    c = coefficients(d)
    key = int(np.random.SeedSequence([seed, 3]).generate_state(1, np.uint64)[0])
    return dk.drift(G_us, target_us, g_max_us, c.mu_coef, c.sig_coef, math.log1p(d.time_s / c.t0_s), key,
                    backend=backend)


def compensation_scale(G0_us: np.ndarray, Gt_us: np.ndarray, g_min_us: float) -> float:
    """Global drift compensation: ``sum_j |sum_i (G0 - G_min)| / sum_j |sum_i (Gt - G_min)|`` of
    one array (1 when the drifted read is zero)."""
    ref0 = float(np.abs((G0_us - g_min_us).sum(axis=0)).sum())
    ref_t = float(np.abs((Gt_us - g_min_us).sum(axis=0)).sum())
    return ref0 / ref_t if ref_t > 0 else 1.0
