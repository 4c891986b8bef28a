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
  ``G <- max(G - (alpha - 1) G_min, G_min)``, then clip ``G <- min(G, beta G_max)``), by default
  on each value's whole conductance (``granularity="value"``), else on every cell.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from archsim.arch.imc.params import NoiseModel
# the cell formulas live beside their kernels; imported here as this module's public names
from archsim.kernels.programming import (NOISE_KINDS, level_conductance, noisy_reference,  # noqa: F401
                                         weight_columns, weight_digits)

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


def apply_noise(G: np.ndarray, model: NoiseModel, g_min: float, g_max: float,
                rng: np.random.Generator) -> np.ndarray:
    """One draw of the programming/write noise model on target conductances ``G`` (uS), before
    the clip to the device's range (the formulas: :mod:`archsim.kernels.programming`)."""
    eps = noise_draws(np.shape(G), model, rng)
    if eps is None:
        return np.array(G, dtype=np.float64, copy=True)
    return noisy_reference(np.asarray(G, dtype=np.float64), eps, NOISE_KINDS[model.kind], model.gamma, g_min, g_max)


def noise_draws(shape, model: NoiseModel, rng: np.random.Generator) -> np.ndarray | None:
    """The ``N(0, sigma^2)`` draws of a write (numpy's generator, one per cell), or None when the
    model writes without noise."""
    if model.kind not in ("none", "proportional", "additive", "txsim"):
        raise ValueError(f"unknown noise model {model.kind!r}")
    if model.kind == "none" or model.sigma == 0.0 or (model.kind == "txsim" and model.gamma == 0.0):
        return None
    return rng.normal(0.0, model.sigma, size=shape)


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
    """ClipFormer's K/V transform (Bhattacharjee et al., TCAD 2024, Algorithm 1) on the target
    conductances before they are written: shift ``G <- max(G - (alpha - 1) G_min, G_min)``
    (alpha >= 1), then clip ``G <- min(G, beta G_max)`` (0 < beta <= 1). It moves written
    conductances to where the TxSim write noise is small.

    The shift is ``(alpha - 1) G_min`` so that ``alpha = 1, beta = 1`` is the identity: the
    research notes write it ``alpha G_min`` with ``alpha >= 1``, under which ``alpha = 1`` would
    already subtract one ``G_min`` (1 % of the range at ON/OFF 100); we read ``alpha`` as the
    multiple of ``G_min`` at which a shifted zero lands. The two readings differ by one ``G_min``.

    ``granularity``: ``"value"`` (default) applies it to each stored value's whole conductance
    ``G_v = G_min + |w| / w_max (G_max - G_min)`` on the weight's own scale, before bit slicing:
    clipping at ``beta`` empties the high-order slices, which is how the paper's "key-value
    clipping" needs fewer bit-slice crossbars. ``"cell"`` applies it to every cell's conductance
    after slicing (with 2-bit cells and ``beta`` < 2/3 it merges all non-zero levels)."""

    alpha: float = 1.0
    beta: float = 1.0
    granularity: str = "value"

    def __post_init__(self):
        if self.alpha < 1.0 or not 0.0 < self.beta <= 1.0:
            raise ValueError(f"ClipFormer needs alpha >= 1 and 0 < beta <= 1, got alpha {self.alpha}, beta {self.beta}")
        if self.granularity not in ("value", "cell"):
            raise ValueError(f"granularity must be 'value' or 'cell', got {self.granularity!r}")

    def __call__(self, G: np.ndarray, g_min: float, g_max: float) -> np.ndarray:
        G = np.maximum(G - (self.alpha - 1.0) * g_min, g_min)
        return np.minimum(G, self.beta * g_max)


def transform_values(wq: np.ndarray, bits: int, signed_weights: str, transform, g_min: float,
                     g_max: float) -> np.ndarray:
    """Apply a conductance ``transform`` to whole values: signed integer codes ``wq`` (differential
    pairs: magnitude ``|wq|`` of ``2^(b-1) - 1``) -> conductance ``G_min + m / m_max (G_max -
    G_min)`` -> transform -> nearest code. Offset encoding is refused: its zero sits mid-range, so
    clipping the conductance would clip every positive value."""
    if signed_weights != "differential":
        raise ValueError("value-level conductance transforms (ClipFormer) need signed_weights 'differential' "
                         "(positive and negative values on separate columns, as TxSim maps them); offset "
                         "encoding puts zero at mid-range")
    m_max = 2 ** (bits - 1) - 1
    span = g_max - g_min
    G = g_min + np.abs(wq) * (span / m_max)
    G = np.asarray(transform(G, g_min, g_max), dtype=np.float64)
    m = np.clip(np.rint((G - g_min) / span * m_max), 0, m_max).astype(np.int64)
    return np.sign(wq) * m
