"""Training-time data augmentation, drawn on the CPU so that a run draws the same crops and flips
on every device (the images themselves may live on the GPU).

``crop-flip`` is the usual small-image augmentation (CIFAR, Fashion-MNIST): pad each image by
``pad`` zero pixels on every side, cut a random window of the original size, and mirror it left
to right with probability 1/2.
"""
from __future__ import annotations

import torch

AUGMENTATIONS = ("none", "crop-flip")


def crop_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """``x``: ``[B, C, H, W]`` (any device). Random ``pad``-pixel shifts and horizontal flips,
    one draw per image from ``generator`` (a CPU generator)."""
    b, _, h, w = x.shape
    shifts = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(x.device)
    flips = (torch.rand(b, generator=generator) < 0.5).to(x.device)
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    rows = (shifts[0][:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = torch.arange(w, device=x.device).expand(b, w)
    cols = torch.where(flips[:, None], cols.flip(1), cols) + shifts[1][:, None]
    return padded[torch.arange(b, device=x.device)[:, None, None, None],
                  torch.arange(x.shape[1], device=x.device)[None, :, None, None], rows, cols[:, None, None, :]]


def augment(name: str, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    if name == "none":
        return x
    if name == "crop-flip":
        return crop_flip(x, generator)
    raise ValueError(f"augment: expected one of {', '.join(AUGMENTATIONS)}, got {name!r}")
