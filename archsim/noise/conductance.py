"""From numbers to conductances: quantisation, bit slicing, the level map and the noise models.

* ``quantize``: symmetric integer quantisation (per tensor or per output channel); unsigned when
  the data is non-negative.
* ``weight_digits``: signed weights on unsigned cells. ``offset``: ``w + 2^(b-1)`` (b bits)
  sliced into ``ceil(b/c)`` cells of c bits, the offset removed digitally with the input sum;
  ``differential``: ``max(w, 0)`` and ``max(-w, 0)`` (b-1 bits each) on two sets of columns.
  Column ``n*C + k`` of the array holds slice/sign ``k`` of output ``n``; ``col_weights[k]`` is
  its significance (``+-2^(c s)``).
* ``level_conductance``: digit ``d`` -> ``G_min + d (G_max - G_min) / (2^c - 1)``.
* noise models (``NoiseModel.kind``): ``proportional`` G(1 + N(0, s^2)); ``additive``
  G + N(0, (s (G_max - G_min))^2); ``txsim`` (TxSim / ClipFormer)
  G + gamma sqrt((G - G_min)(G_max - G_min)) N(0, s^2). Device-to-device variation is
  proportional, drawn once per physical array.
* ``ClipFormerTransform``: the K/V conductance transform applied before the write (shift
  ``G <- max(G - alpha G_min, G_min)``, then clip ``G <- min(G, beta G_max)``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.arch.imc.mapping import weight_slices
from archsim.arch.imc.params import NoiseModel

G_CEILING = 2.0   # programmed conductances are clipped to [0, 2 G_max]: a device cannot go negative


def quantize(x: np.ndarray, bits: int, *, signed: bool | None = None, axis: int | None = None,
             scale: float | np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, bool]:
    """Symmetric uniform quantisation: returns integer codes, the scale (code * scale ~ x) and
    whether the codes are signed. Signed codes span ``+-(2^(b-1) - 1)``, unsigned ``0..2^b - 1``.
    ``axis``: keep one scale per index of that axis (per channel); default one per tensor."""
    x = np.asarray(x, dtype=np.float64)
    if signed is None:
        signed = bool(np.any(x < 0))
    top = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
    if top < 1:
        raise ValueError(f"{bits} bits cannot hold signed values")
    if scale is None:
        if axis is None:
            peak = np.max(np.abs(x)) if x.size else 0.0
        else:
            peak = np.max(np.abs(x), axis=tuple(a for a in range(x.ndim) if a != axis % x.ndim), keepdims=True)
        scale = np.where(peak > 0, peak / top, 1.0)
    scale = np.asarray(scale, dtype=np.float64)
    lo = -top if signed else 0
    q = np.clip(np.rint(x / scale), lo, top).astype(np.int64)
    return q, scale, signed


def weight_digits(wq: np.ndarray, bits: int, bits_per_cell: int, signed_weights: str):
    """(digits (K, N, C) int64, col_weights (C,) float64, offset) for integer weights ``wq``
    (K, N) in ``+-(2^(b-1) - 1)``. ``offset`` is what was added to every weight (0 for
    differential pairs)."""
    mask = 2 ** bits_per_cell - 1
    S = weight_slices(bits, bits_per_cell, signed_weights)
    shifts = bits_per_cell * np.arange(S)
    if signed_weights == "offset":
        offset = 2 ** (bits - 1)
        u = wq + offset
        digits = (u[..., None] >> shifts) & mask
        col_weights = (2.0 ** shifts)
        return digits, col_weights, offset
    pos, neg = np.maximum(wq, 0), np.maximum(-wq, 0)
    digits = np.concatenate([(pos[..., None] >> shifts) & mask, (neg[..., None] >> shifts) & mask], axis=-1)
    col_weights = np.concatenate([2.0 ** shifts, -(2.0 ** shifts)])
    return digits, col_weights, 0


def level_conductance(digits: np.ndarray, g_min: float, g_max: float, bits_per_cell: int) -> np.ndarray:
    return g_min + digits * ((g_max - g_min) / (2 ** bits_per_cell - 1))


def apply_noise(G: np.ndarray, model: NoiseModel, g_min: float, g_max: float,
                rng: np.random.Generator) -> np.ndarray:
    """One draw of the programming/write noise model on target conductances ``G`` (uS)."""
    if model.kind == "none" or model.sigma == 0.0 or (model.kind == "txsim" and model.gamma == 0.0):
        return np.array(G, dtype=np.float64, copy=True)
    eps = rng.normal(0.0, model.sigma, size=np.shape(G))
    if model.kind == "proportional":
        return G * (1.0 + eps)
    if model.kind == "additive":
        return G + (g_max - g_min) * eps
    if model.kind == "txsim":
        return G + model.gamma * np.sqrt(np.maximum(G - g_min, 0.0) * (g_max - g_min)) * eps
    raise ValueError(f"unknown noise model {model.kind!r}")


def noise_moments(G: np.ndarray, model: NoiseModel, g_min: float, g_max: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance of ``apply_noise`` for each target conductance (before clipping)."""
    G = np.asarray(G, dtype=np.float64)
    s2 = model.sigma ** 2
    if model.kind == "none":
        var = np.zeros_like(G)
    elif model.kind == "proportional":
        var = s2 * G ** 2
    elif model.kind == "additive":
        var = np.full_like(G, s2 * (g_max - g_min) ** 2)
    else:
        var = model.gamma ** 2 * s2 * np.maximum(G - g_min, 0.0) * (g_max - g_min)
    return G.copy(), var


def device_variation(shape, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Proportional device-to-device factors ``1 + N(0, sigma^2)``, one per cell."""
    if sigma == 0.0:
        return np.ones(shape)
    return 1.0 + rng.normal(0.0, sigma, size=shape)


@dataclass(frozen=True)
class ClipFormerTransform:
    """ClipFormer's K/V transform (Bhattacharjee et al., TCAD 2024, Algorithm 1), on the target
    conductance of every cell before it is written: shift ``G <- max(G - alpha G_min, G_min)``
    (alpha >= 1), then clip ``G <- min(G, beta G_max)`` (0 < beta <= 1). It moves written
    conductances to where the TxSim write noise is small."""

    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self):
        if self.alpha < 1.0 or not 0.0 < self.beta <= 1.0:
            raise ValueError(f"ClipFormer needs alpha >= 1 and 0 < beta <= 1, got alpha {self.alpha}, beta {self.beta}")

    def __call__(self, G: np.ndarray, g_min: float, g_max: float) -> np.ndarray:
        G = np.maximum(G - self.alpha * g_min, g_min)
        return np.minimum(G, self.beta * g_max)
