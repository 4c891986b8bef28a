"""Input encodings: how a static image becomes T timesteps of network input.

Both return ``[T*B, ...]`` (timestep-major, the layout of :mod:`workloads.snn.neuron`).

* **direct** (default, the LoAS models): the analog image, normalised, is fed at every timestep;
  the first convolution turns it into currents and its neurons do the encoding.
* **rate**: each pixel in [0, 1] fires at each timestep with probability equal to its intensity
  (Bernoulli); the first layer then sees real spikes.
"""
from __future__ import annotations

import torch

ENCODINGS = ("direct", "rate")


def direct(x: torch.Tensor, timesteps: int, mean: torch.Tensor | None = None,
           std: torch.Tensor | None = None) -> torch.Tensor:
    if mean is not None:
        x = (x - mean) / std
    return x.unsqueeze(0).expand(timesteps, *x.shape).reshape(timesteps * x.shape[0], *x.shape[1:])


def rate(x: torch.Tensor, timesteps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    if x.min() < 0 or x.max() > 1:
        raise ValueError("rate encoding needs intensities in [0, 1]")
    p = x.unsqueeze(0).expand(timesteps, *x.shape)
    spikes = (torch.rand(p.shape, generator=generator, dtype=x.dtype, device=x.device) < p).to(x.dtype)
    return spikes.reshape(timesteps * x.shape[0], *x.shape[1:])
