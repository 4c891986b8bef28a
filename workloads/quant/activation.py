"""Activation quantisation: per-token dynamic (W4A4 LLMs) and static per-tensor with a
calibrated range (post-training quantised CNNs).

Both are fake quantisation (quantise then dequantise in floating point), which gives the
accuracy of the integer network; the traces record the integer formats.
"""
from __future__ import annotations

import torch
from torch import nn

from workloads.quant.uniform import int_range


def per_token_fake_quant(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Asymmetric quantisation with one (scale, zero point) per token (row of the last axis),
    computed at run time from the token's min and max."""
    qmax = 2 ** bits - 1
    lo = x.amin(dim=-1, keepdim=True).clamp(max=0)
    hi = x.amax(dim=-1, keepdim=True).clamp(min=0)
    scale = ((hi - lo) / qmax).clamp(min=1e-8)
    zero = torch.round(-lo / scale)
    q = torch.clamp(torch.round(x / scale) + zero, 0, qmax)
    return (q - zero) * scale


def _fake_quant_ste(x: torch.Tensor, scale: torch.Tensor, qmin: int, qmax: int) -> torch.Tensor:
    """Fake quantisation with a straight-through rounding gradient (so synthetic-data generators
    can backpropagate through a quantised network)."""
    y = torch.clamp(x / scale, qmin, qmax)
    return (torch.round(y) - y).detach().add(y) * scale


class ActQuant(nn.Module):
    """Static per-tensor activation quantiser. ``signed=False`` (after a ReLU): codes
    ``0..2^b - 1`` over ``[0, range]``; signed: symmetric ``-2^(b-1)..2^(b-1) - 1``. Observes
    its input while ``observing`` (collecting a sample for :meth:`calibrate`), passes it through
    while ``bits`` is None or it is not calibrated."""

    def __init__(self, bits: int | None, signed: bool, max_samples: int = 200_000):
        super().__init__()
        self.bits, self.signed, self.max_samples = bits, signed, max_samples
        self.register_buffer("range", torch.tensor(0.0))
        self.calibrated = False
        self.observing = False
        self._seen: list[torch.Tensor] = []

    @property
    def qmin(self) -> int:
        return int_range(self.bits, self.signed)[0]

    @property
    def qmax(self) -> int:
        return int_range(self.bits, self.signed)[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observing:
            flat = x.detach().reshape(-1)
            if flat.numel() > self.max_samples // 4:
                g = torch.Generator().manual_seed(len(self._seen))
                flat = flat[torch.randint(0, flat.numel(), (self.max_samples // 4,), generator=g)]
            self._seen.append(flat)
        if self.bits is None or not self.calibrated:
            return x
        scale = self.range / self.qmax
        return _fake_quant_ste(x, scale, self.qmin, self.qmax)

    @torch.no_grad()
    def calibrate(self, grid: int = 40) -> float:
        """Pick the clipping range that minimises the squared quantisation error of the observed
        values (a search over ``grid`` fractions of the largest magnitude); returns it."""
        if not self._seen:
            raise RuntimeError("ActQuant.calibrate: nothing observed (run calibration data first)")
        x = torch.cat(self._seen)
        self._seen.clear()
        amax = float(x.abs().max()) if self.signed else float(x.clamp(min=0).max())
        if self.bits is None or amax == 0:
            self.range.fill_(max(amax, 1e-8))
            self.calibrated = True
            return float(self.range)
        best, best_err = amax, float("inf")
        for frac in torch.linspace(1.0, 0.05, grid).tolist():
            r = amax * frac
            scale = r / self.qmax
            err = float(((torch.clamp(torch.round(x / scale), self.qmin, self.qmax) * scale - x) ** 2).mean())
            if err < best_err:
                best, best_err = r, err
        self.range.fill_(best)
        self.calibrated = True
        return best

    def extra_repr(self) -> str:
        return f"bits={self.bits}, signed={self.signed}, range={float(self.range):.4g}"
