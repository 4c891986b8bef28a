"""Progressive adaptive rounding by block reconstruction, in the spirit of TesseraQ
(Li et al., arXiv 2410.19103), small enough for a CPU.

For each quantised layer of a block the rounding direction of every weight is a variable: with
``x = w / s``, the code is ``floor(x) + r + z`` where ``r`` starts *soft*, ``r = sigmoid(v)``
with ``v`` initialised so that ``r = x - floor(x)`` (the soft weight equals the FP weight inside
the quantisation range). A schedule of fractions ``p_1 > p_2 > ... > 0`` is followed: at step k
the variables whose soft value is most decided (largest ``|sigmoid(v) - 1/2|``) are **hardened**
to 0 or 1 until only a fraction ``p_k`` of each layer's variables is still soft, then the soft
ones (and, optionally, a per-group multiplier ``2 sigmoid(u)`` of the dequantisation scale, which
TesseraQ also learns) are trained for ``iters`` Adam steps to make the block's output on the
quantised model's inputs match the FP block's output on the FP inputs (mean squared error).
After the last step every variable is hard: the result is an ordinary integer code per weight
with one scale and zero point per group.

TesseraQ runs 20 hardening steps of 250 iterations on 512 x 2048-token sequences; the defaults
here are a few steps of a few iterations (the CPU budget), so the gain over round-to-nearest is
smaller than the paper's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

from workloads.quant.uniform import (QuantizedWeight, QuantSpec, fit_scale, quantize_codes, search_clip,
                                     to_groups)


@dataclass(frozen=True)
class ProgressiveConfig:
    schedule: tuple[float, ...] = (0.75, 0.5, 0.25, 0.1, 0.0)   # fraction still soft after each step
    iters: int = 10                  # Adam steps after each hardening step (none after the last)
    lr: float = 5e-3                 # for the rounding logits v
    learn_scale: bool = True         # learn a per-group multiplier of the dequantisation scale
    scale_lr: float = 1e-3
    clip_search: bool = True         # initial scales from an RTN clip search
    batch_size: int | None = None    # calibration samples per step (None: all)
    seed: int = 0

    def __post_init__(self):
        s = self.schedule
        if not s or s[-1] != 0.0 or any(not 0 <= a <= 1 for a in s) or any(a <= b for a, b in zip(s, s[1:])):
            raise ValueError(f"schedule {s}: fractions in [0, 1], strictly decreasing, ending at 0")


class SoftRounding(nn.Module):
    """The soft/hard rounding state of one weight."""

    def __init__(self, w: torch.Tensor, spec: QuantSpec, clip_search: bool):
        super().__init__()
        with torch.no_grad():
            w = w.detach().float()
            grouped, self.k = to_groups(w, spec.group_size)
            clip = search_clip(grouped, spec) if clip_search else 1.0
            scale, zero = fit_scale(grouped, spec, clip)
            x = grouped / scale
            floor = torch.floor(x)
            frac = (x - floor).clamp(1e-4, 1 - 1e-4)
        self.spec, self.shape = spec, w.shape
        self.register_buffer("scale0", scale)
        self.register_buffer("zero", zero)
        self.register_buffer("floor", floor)
        self.register_buffer("hard", torch.zeros_like(floor, dtype=torch.bool))
        self.register_buffer("hard_value", torch.zeros_like(floor))
        self.v = nn.Parameter(torch.log(frac) - torch.log1p(-frac))
        self.u = nn.Parameter(torch.zeros_like(scale))

    def rounding(self) -> torch.Tensor:
        return torch.where(self.hard, self.hard_value, torch.sigmoid(self.v))

    def scale(self) -> torch.Tensor:
        return self.scale0 * 2 * torch.sigmoid(self.u)

    def codes(self) -> torch.Tensor:
        return torch.clamp(self.floor + self.rounding() + self.zero, self.spec.qmin, self.spec.qmax)

    def weight(self) -> torch.Tensor:
        grouped = (self.codes() - self.zero) * self.scale()
        return grouped.reshape(grouped.shape[0], -1)[:, :self.k].reshape(self.shape)

    @torch.no_grad()
    def harden(self, keep_soft: float) -> None:
        """Harden the most decided soft variables until a fraction ``keep_soft`` stays soft."""
        total = self.v.numel()
        target_soft = math.floor(keep_soft * total)
        soft = ~self.hard
        n_soft = int(soft.sum())
        if n_soft <= target_soft:
            return
        confidence = (torch.sigmoid(self.v) - 0.5).abs()
        confidence = torch.where(soft, confidence, torch.full_like(confidence, -1.0))
        idx = torch.topk(confidence.reshape(-1), n_soft - target_soft).indices
        flat_hard = self.hard.reshape(-1)
        flat_val = self.hard_value.reshape(-1)
        flat_val[idx] = (torch.sigmoid(self.v.reshape(-1)[idx]) >= 0.5).float()
        flat_hard[idx] = True

    def result(self) -> QuantizedWeight:
        with torch.no_grad():
            return QuantizedWeight(self.codes().detach().clone(), self.scale().detach().clone(),
                                   self.zero.clone(), self.spec, self.k, self.shape)


def _param(module_name: str) -> str:
    """The weight's parameter name within the block (``""``: the block is the layer itself)."""
    return f"{module_name}.weight" if module_name else "weight"


BlockForward = Callable[[nn.Module, dict[str, torch.Tensor], torch.Tensor], torch.Tensor]


def default_forward(block: nn.Module, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    out = functional_call(block, params, (x,))
    return out[0] if isinstance(out, tuple) else out


def progressive_round(block: nn.Module, specs: dict[str, QuantSpec], inputs: torch.Tensor, targets: torch.Tensor,
                      cfg: ProgressiveConfig = ProgressiveConfig(), forward: BlockForward = default_forward,
                      progress: Callable[[str], None] | None = None) -> tuple[dict[str, QuantizedWeight], dict]:
    """Quantise the weights ``specs`` names (``"mlp.up_proj"`` -> that module's ``weight``) of
    ``block`` by progressive rounding against ``targets`` (the FP block's outputs). ``inputs``
    and ``targets`` hold calibration samples along dim 0. The block's own weights are left
    untouched; returns the quantised weights and the losses (first and last MSE)."""
    gen = torch.Generator().manual_seed(cfg.seed)
    modules = dict(block.named_modules())
    soft = {name: SoftRounding(modules[name].weight, spec, cfg.clip_search) for name, spec in specs.items()}
    for p in block.parameters():
        p.requires_grad_(False)
    n = inputs.shape[0]
    bs = n if cfg.batch_size is None else min(cfg.batch_size, n)

    def loss_on(idx) -> torch.Tensor:
        params = {_param(name): s.weight() for name, s in soft.items()}
        return (forward(block, params, inputs[idx]) - targets[idx]).pow(2).mean()

    with torch.no_grad():
        first = float(loss_on(torch.arange(min(bs, n))))
    history = {"mse_start": first}
    for step, keep in enumerate(cfg.schedule):
        for s in soft.values():
            s.harden(keep)
        if keep == 0.0 or cfg.iters == 0:
            continue
        groups = [{"params": [s.v for s in soft.values()], "lr": cfg.lr}]
        if cfg.learn_scale:
            groups.append({"params": [s.u for s in soft.values()], "lr": cfg.scale_lr})
        opt = torch.optim.Adam(groups)
        for _ in range(cfg.iters):
            idx = torch.randperm(n, generator=gen)[:bs]
            loss = loss_on(idx)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if progress:
            progress(f"soft {keep:.2f} mse {float(loss):.3g}")
    with torch.no_grad():
        history["mse_end"] = float(loss_on(torch.arange(min(bs, n))))
    return {name: s.result() for name, s in soft.items()}, history


def block_mse(block: nn.Module, weights: dict[str, torch.Tensor], inputs: torch.Tensor, targets: torch.Tensor,
              forward: BlockForward = default_forward) -> float:
    """MSE of the block with ``weights`` (module name -> weight) substituted."""
    with torch.no_grad():
        params = {_param(name): w for name, w in weights.items()}
        return float((forward(block, params, inputs) - targets).pow(2).mean())
