"""Uniform affine weight quantisation: round-to-nearest (RTN) per tensor, channel or group.

A weight ``W`` of shape ``[N, ...]`` is viewed as ``[N, K]`` (a conv weight flattens its
``C_in x kh x kw``) and cut into groups of ``group_size`` consecutive inputs of each row (one
group per row when ``group_size`` is None: per output channel). Per group:

* asymmetric (``symmetric=False``, the TesseraQ/GPTQ/AWQ format): codes ``q`` in
  ``[0, 2^b - 1]``, ``s = (max - min) / (2^b - 1)``, integer zero point
  ``z = clamp(round(-min / s), 0, 2^b - 1)``, ``q = clamp(round(w / s) + z, 0, 2^b - 1)``,
  ``w' = (q - z) s``;
* symmetric: codes in ``[-2^(b-1), 2^(b-1) - 1]``, ``s = max|w| / (2^(b-1) - 1)``, ``z = 0``.

``clip`` (0 < clip <= 1) shrinks the range before the scale is fitted; :func:`search_clip` picks
it per group by the reconstruction error, as AWQ/OmniQuant initialise their clipping.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """The codes of a ``bits``-bit integer: ``-2^(b-1)..2^(b-1) - 1`` signed, ``0..2^b - 1`` not."""
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


@dataclass(frozen=True)
class QuantSpec:
    bits: int
    group_size: int | None = None     # None: one group per output row (per channel)
    symmetric: bool = False

    def __post_init__(self):
        if not 1 <= self.bits <= 16:
            raise ValueError(f"bits must be 1..16, got {self.bits}")
        if self.group_size is not None and self.group_size < 1:
            raise ValueError(f"group_size must be positive, got {self.group_size}")
        if self.symmetric and self.bits < 2:
            raise ValueError("symmetric quantisation needs at least 2 bits")

    @property
    def qmin(self) -> int:
        return int_range(self.bits, self.symmetric)[0]

    @property
    def qmax(self) -> int:
        return int_range(self.bits, self.symmetric)[1]

    @property
    def levels(self) -> int:
        return 2 ** self.bits

    @property
    def name(self) -> str:
        return f"w{self.bits}" + (f"g{self.group_size}" if self.group_size else "")


def to_groups(w: torch.Tensor, group_size: int | None) -> tuple[torch.Tensor, int]:
    """``[N, ...]`` -> ``[N, G, g]``; a partial last group is padded by repeating each row's last
    value (which leaves that group's min and max unchanged). Returns the view and ``K``."""
    n = w.shape[0]
    flat = w.reshape(n, -1)
    k = flat.shape[1]
    g = k if group_size is None else group_size
    pad = (-k) % g
    if pad:
        flat = torch.cat([flat, flat[:, -1:].expand(n, pad)], dim=1)
    return flat.reshape(n, -1, g), k


def from_groups(grouped: torch.Tensor, k: int, shape: torch.Size) -> torch.Tensor:
    return grouped.reshape(grouped.shape[0], -1)[:, :k].reshape(shape)


def fit_scale(grouped: torch.Tensor, spec: QuantSpec, clip: torch.Tensor | float = 1.0
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, zero point) per group, each ``[N, G, 1]``; ``clip`` scales the range."""
    if spec.symmetric:
        amax = grouped.abs().amax(dim=-1, keepdim=True) * clip
        scale = (amax / spec.qmax).clamp(min=1e-8)
        return scale, torch.zeros_like(scale)
    lo = grouped.amin(dim=-1, keepdim=True).clamp(max=0) * clip
    hi = grouped.amax(dim=-1, keepdim=True).clamp(min=0) * clip
    scale = ((hi - lo) / spec.qmax).clamp(min=1e-8)
    zero = torch.round(-lo / scale).clamp(0, spec.qmax)
    return scale, zero


def quantize_codes(grouped: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    return torch.clamp(torch.round(grouped / scale) + zero, spec.qmin, spec.qmax)


def search_clip(grouped: torch.Tensor, spec: QuantSpec, grid: int = 20, min_clip: float = 0.5) -> torch.Tensor:
    """Per-group clip ratio in ``[min_clip, 1]`` minimising the squared weight error."""
    best_err = torch.full(grouped.shape[:2] + (1,), float("inf"), dtype=grouped.dtype)
    best = torch.ones_like(best_err)
    for c in torch.linspace(1.0, min_clip, grid).tolist():
        s, z = fit_scale(grouped, spec, c)
        err = ((quantize_codes(grouped, s, z, spec) - z) * s - grouped).pow(2).sum(dim=-1, keepdim=True)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best = torch.where(better, torch.full_like(best, c), best)
    return best


@dataclass
class QuantizedWeight:
    """Integer codes with their scales and zero points, in the grouped layout ``[N, G, g]``."""

    codes: torch.Tensor      # float tensor holding integers
    scale: torch.Tensor      # [N, G, 1]
    zero: torch.Tensor       # [N, G, 1]
    spec: QuantSpec
    k: int                   # reduction length before padding
    shape: torch.Size        # original weight shape

    def dequantize(self) -> torch.Tensor:
        return from_groups((self.codes - self.zero) * self.scale, self.k, self.shape)

    def code_histogram(self) -> tuple[list[int], list[int]]:
        """(edges, counts) over the codes of the real (unpadded) weights: one bin per level."""
        codes = from_groups(self.codes, self.k, self.shape).reshape(-1).to(torch.int64) - self.spec.qmin
        counts = torch.bincount(codes, minlength=self.spec.levels)
        edges = list(range(self.spec.qmin, self.spec.qmax + 2))
        return edges, [int(c) for c in counts]

    def error(self, w: torch.Tensor) -> float:
        """Mean squared weight error against ``w``."""
        return float((self.dequantize() - w).pow(2).mean())


def rtn(w: torch.Tensor, spec: QuantSpec, *, clip_search: bool = False) -> QuantizedWeight:
    """Round-to-nearest quantisation of ``w`` (optionally with a per-group clip search)."""
    with torch.no_grad():
        w = w.detach().float()
        grouped, k = to_groups(w, spec.group_size)
        clip = search_clip(grouped, spec) if clip_search else 1.0
        scale, zero = fit_scale(grouped, spec, clip)
        codes = quantize_codes(grouped, scale, zero, spec)
    return QuantizedWeight(codes, scale, zero, spec, k, w.shape)


def rtn_numpy(w: np.ndarray, bits: int, group_size: int | None) -> np.ndarray:
    """Asymmetric RTN of a ``[N, K]`` array in plain numpy (K a multiple of the group size): the
    reference the tests compare :func:`rtn` against."""
    n, k = w.shape
    g = k if group_size is None else group_size
    x = w.reshape(n, k // g, g)
    lo = np.minimum(x.min(axis=-1, keepdims=True), 0)
    hi = np.maximum(x.max(axis=-1, keepdims=True), 0)
    qmax = 2 ** bits - 1
    s = np.maximum((hi - lo) / qmax, 1e-8)
    z = np.clip(np.round(-lo / s), 0, qmax)
    q = np.clip(np.round(x / s) + z, 0, qmax)
    return ((q - z) * s).reshape(n, k)
