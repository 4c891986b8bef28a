"""The base of every SNN in the toolkit: encoding, timesteps, and the readout.

A :class:`SpikingNet` takes images ``[B, C, H, W]`` in [0, 1], encodes them over T timesteps
(:mod:`workloads.snn.encoding`), runs its ``body`` on the ``[T*B, ...]`` sequence and returns the
class scores averaged over the T timesteps (``[B, classes]``). Subclasses only build ``body``.
"""
from __future__ import annotations

import torch
from torch import nn

from workloads.ops import Add, MatMul  # noqa: F401  (re-exported for SNN models)
from workloads.snn import encoding as enc
from workloads.snn.neuron import set_timesteps


class SpikingNet(nn.Module):
    def __init__(self, body: nn.Module, *, timesteps: int = 4, encoding: str = "direct",
                 num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if encoding not in enc.ENCODINGS:
            raise ValueError(f"encoding must be one of {enc.ENCODINGS}, got {encoding!r}")
        self.body = body
        self.encoding = encoding
        self.num_classes = num_classes
        # per-channel input normalisation of direct encoding, set from the training data
        self.register_buffer("input_mean", torch.zeros(1, in_channels, 1, 1))
        self.register_buffer("input_std", torch.ones(1, in_channels, 1, 1))
        self.rate_generator: torch.Generator | None = None
        self.timesteps = int(timesteps)
        set_timesteps(self, timesteps)

    def set_input_stats(self, mean: float, std: float) -> None:
        self.input_mean.fill_(float(mean))
        self.input_std.fill_(float(std))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.encoding == "direct":
            return enc.direct(x, self.timesteps, self.input_mean, self.input_std)
        return enc.rate(x, self.timesteps, self.rate_generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B = x.shape[0]
        out = self.body(self.encode(x))
        return out.view(self.timesteps, B, -1).mean(dim=0)
