"""Rank estimation by empirical variational Bayesian matrix factorisation (EVBMF), the method the
TT-SNN authors use to pick each layer's tensor-train rank.

For a matrix ``Y`` (L x M, L <= M after transposing), EVBMF models ``Y = B A^T + noise`` with
Gaussian priors whose variances, and the noise variance sigma^2, are estimated from ``Y`` itself.
Its global solution (Nakajima, Sugiyama, Babacan and Tomioka, "Global analytic solution of
fully-observed variational Bayesian matrix factorization", JMLR 14, 2013) keeps exactly the
singular components above a threshold:

* with alpha = L / M, tau_bar ~= 2.5129 sqrt(alpha) and x_bar = (1 + tau_bar)(1 + alpha / tau_bar),
  a singular value gamma is kept when gamma > sqrt(M sigma^2 x_bar);
* sigma^2 minimises, over [lower, upper], the free energy
  ``sum_{x_h <= x_bar} (x_h - log x_h) + sum_{x_h > x_bar} (x_h - tau_h + log((tau_h + 1) / x_h)
  + alpha log(tau_h / alpha + 1))`` with ``x_h = gamma_h^2 / (M sigma^2)`` and
  ``tau_h = (x_h - 1 - alpha + sqrt((x_h - 1 - alpha)^2 - 4 alpha)) / 2``;
  ``upper = ||Y||_F^2 / (L M)``; ``lower`` = the larger of ``gamma_{k+1}^2 / (M x_bar)`` and the
  mean of ``gamma_{k+1..L}^2 / M``, with ``k = min(ceil(L / (1 + alpha)) - 1, L) - 1`` (the largest
  number of components the solution can keep).

The estimated rank is the number of kept components. The TT-SNN code applies it to the mode-0
unfolding of each 3x3 conv weight (``Cout x Cin*9``) and, when that gives 0, the mode-1 unfolding
(``Cin x Cout*9``).
"""
from __future__ import annotations

import math

import numpy as np

TAU_BAR_PER_SQRT_ALPHA = 2.5129   # Nakajima et al. 2013: tau_bar ~= 2.5129 sqrt(alpha)


def _tau(x: np.ndarray, alpha: float) -> np.ndarray:
    d = x - (1 + alpha)
    return 0.5 * (d + np.sqrt(np.maximum(d * d - 4 * alpha, 0.0)))


def _free_energy(sigma2: float, s2: np.ndarray, L: int, M: int, x_bar: float) -> float:
    alpha = L / M
    x = s2 / (M * sigma2)
    small, large = x[x <= x_bar], x[x > x_bar]
    tau = _tau(large, alpha)
    return float(np.sum(small - np.log(small)) + np.sum(large - tau)
                 + np.sum(np.log((tau + 1) / large)) + alpha * np.sum(np.log(tau / alpha + 1)))


def evbmf_rank(Y: np.ndarray) -> tuple[int, float]:
    """(estimated rank, estimated noise variance) of the matrix ``Y``."""
    from scipy.optimize import minimize_scalar

    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or min(Y.shape) < 2:
        raise ValueError(f"evbmf_rank needs a matrix with at least 2 rows and columns, got shape {Y.shape}")
    if Y.shape[0] > Y.shape[1]:
        Y = Y.T
    L, M = Y.shape
    alpha = L / M
    tau_bar = TAU_BAR_PER_SQRT_ALPHA * math.sqrt(alpha)
    x_bar = (1 + tau_bar) * (1 + alpha / tau_bar)
    s = np.linalg.svd(Y, compute_uv=False)
    s2 = s * s
    if s2.sum() == 0:
        return 0, 0.0
    k = min(math.ceil(L / (1 + alpha)) - 1, L) - 1
    upper = s2.sum() / (L * M)
    lower = max(s2[k + 1] / (M * x_bar), s2[k + 1:].mean() / M)
    res = minimize_scalar(_free_energy, args=(s2, L, M, x_bar), bounds=(lower, upper), method="bounded",
                          options={"xatol": 1e-12 * upper})
    sigma2 = float(res.x)
    threshold = math.sqrt(M * sigma2 * x_bar)
    return int(np.sum(s > threshold)), sigma2


def conv_rank(weight: np.ndarray) -> int:
    """The TT rank of a conv weight ``[Cout, Cin, kh, kw]`` as the TT-SNN code picks it: EVBMF on
    the mode-0 unfolding, else (rank 0) on the mode-1 unfolding."""
    w = np.asarray(weight)
    r0, _ = evbmf_rank(w.reshape(w.shape[0], -1))
    if r0:
        return r0
    r1, _ = evbmf_rank(np.moveaxis(w, 1, 0).reshape(w.shape[1], -1))
    return r1
