"""Tiny models for tests and examples: a spiking net and an ordinary CNN of the same shape."""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from workloads.snn.network import SpikingNet
from workloads.snn.neuron import LIF


def tiny_snn(num_classes: int = 10, timesteps: int = 4, encoding: str = "direct",
             in_channels: int = 1, width: int = 8, image_size: int = 16, **lif_kw) -> SpikingNet:
    body = nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(in_channels, width, 3, padding=1)), ("bn1", nn.BatchNorm2d(width)),
        ("lif1", LIF(**lif_kw)), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(width, 2 * width, 3, padding=1)), ("bn2", nn.BatchNorm2d(2 * width)),
        ("lif2", LIF(**lif_kw)), ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()),
        ("fc", nn.Linear(2 * width * (image_size // 4) ** 2, num_classes)),
    ]))
    return SpikingNet(body, timesteps=timesteps, encoding=encoding, num_classes=num_classes,
                      in_channels=in_channels)


class TinyCNN(nn.Module):
    """An ANN: images [B, C, H, W] -> class scores."""

    timesteps = 1

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 8, image_size: int = 16):
        super().__init__()
        self.register_buffer("input_mean", torch.zeros(1, in_channels, 1, 1))
        self.register_buffer("input_std", torch.ones(1, in_channels, 1, 1))
        self.body = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(in_channels, width, 3, padding=1)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(width, 2 * width, 3, padding=1)), ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc", nn.Linear(2 * width * (image_size // 4) ** 2, num_classes)),
        ]))

    def set_input_stats(self, mean: float, std: float) -> None:
        self.input_mean.fill_(float(mean))
        self.input_std.fill_(float(std))

    def forward(self, x):
        return self.body((x - self.input_mean) / self.input_std)


def tiny_cnn(num_classes: int = 10, timesteps: int = 1, encoding: str = "direct", in_channels: int = 1,
             width: int = 8, image_size: int = 16) -> TinyCNN:
    if timesteps != 1 or encoding != "direct":
        raise ValueError("tiny-cnn is an ANN: timesteps 1, direct input")
    return TinyCNN(num_classes, in_channels, width, image_size)
