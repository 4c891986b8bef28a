"""Unstructured magnitude pruning with masks, in the lottery-ticket style.

Masks are boolean tensors keyed by parameter name; :func:`apply_masks` zeroes the pruned weights
(after every optimiser step during training, so pruned weights stay at zero). Pruning is global:
one magnitude threshold over all prunable weights, so layers end up with different sparsities,
as in the LoAS models (lottery ticket, global scope).

A schedule of R rounds to a final sparsity s keeps ``round(n * (1 - s) ** (r / R))`` of the n
prunable weights after round r: each round removes the same fraction of the survivors, and the
last round hits the target exactly (up to ties in magnitude).
"""
from __future__ import annotations

import torch
from torch import nn


def prunable(model: nn.Module, skip_first_last: bool = True) -> dict[str, torch.nn.Parameter]:
    """Weights of every Conv2d and Linear layer, in module order. ``skip_first_last`` leaves the
    first layer (it sees the analog input) and the last one (the classifier) dense: together they
    hold well under 1 % of the weights of the LoAS models, and neither enters the LoAS statistics."""
    names = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if skip_first_last and len(names) > 2:
        names = names[1:-1]
    modules = dict(model.named_modules())
    return {f"{n}.weight" if n else "weight": modules[n].weight for n in names}


def full_masks(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {n: torch.ones_like(p, dtype=torch.bool) for n, p in params.items()}


def kept_after_round(total: int, target_sparsity: float, round_: int, rounds: int) -> int:
    """Weights left after ``round_`` of ``rounds`` (round 0: all)."""
    if not 0.0 <= target_sparsity < 1.0:
        raise ValueError(f"target sparsity must be in [0, 1), got {target_sparsity}")
    if rounds < 1 or not 0 <= round_ <= rounds:
        raise ValueError(f"round {round_} of {rounds} rounds")
    return int(round(total * (1.0 - target_sparsity) ** (round_ / rounds)))


def global_magnitude_masks(params: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
                           keep: int) -> dict[str, torch.Tensor]:
    """New masks keeping the ``keep`` largest-magnitude weights among those still unmasked."""
    alive = torch.cat([p.detach().abs().flatten()[masks[n].flatten()] for n, p in params.items()])
    if keep > alive.numel():
        raise ValueError(f"cannot keep {keep} weights, only {alive.numel()} are left")
    if keep == alive.numel():
        return {n: m.clone() for n, m in masks.items()}
    # the keep-th largest surviving magnitude; ties at the threshold are broken by position
    order = torch.argsort(alive, descending=True, stable=True)
    chosen = torch.zeros_like(alive, dtype=torch.bool)
    chosen[order[:keep]] = True
    out, i = {}, 0
    for n in params:
        m = masks[n]
        k = int(m.sum())
        new = torch.zeros_like(m)
        new[m] = chosen[i:i + k]
        out[n] = new
        i += k
    return out


@torch.no_grad()
def apply_masks(params: dict[str, torch.Tensor], masks: dict[str, torch.Tensor]) -> None:
    for n, p in params.items():
        p.mul_(masks[n].to(p.dtype))


def sparsity(tensors) -> float:
    """Fraction of zeros over the given tensors."""
    tensors = list(tensors)
    total = sum(t.numel() for t in tensors)
    return 1.0 - sum(int(torch.count_nonzero(t)) for t in tensors) / total if total else 0.0


def masks_of_nonzeros(params: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The masks a pruned network carries implicitly: its nonzero weights."""
    return {n: p.detach() != 0 for n, p in params.items()}


def grow_by_gradient(params: dict[str, torch.Tensor], masks: dict[str, torch.Tensor],
                     grads: dict[str, torch.Tensor], keep: int) -> dict[str, torch.Tensor]:
    """Masks with ``keep`` weights: those alive now plus the pruned ones whose loss gradient is
    largest in magnitude, chosen globally (RigL's growth criterion: Evci et al., ICML 2020). The
    grown weights start at zero, as in RigL, and training gives them their values."""
    alive = sum(int(m.sum()) for m in masks.values())
    total = sum(m.numel() for m in masks.values())
    if not alive <= keep <= total:
        raise ValueError(f"cannot grow {alive} weights to {keep} (of {total})")
    dead = torch.cat([grads[n].detach().abs().flatten()[~masks[n].flatten()] for n in params])
    order = torch.argsort(dead, descending=True, stable=True)
    chosen = torch.zeros_like(dead, dtype=torch.bool)
    chosen[order[:keep - alive]] = True
    out, i = {}, 0
    for n in params:
        m = masks[n]
        k = int((~m).sum())
        new = m.clone()
        new[~m] = chosen[i:i + k]
        out[n] = new
        i += k
    return out
