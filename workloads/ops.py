"""Functional operations as modules, so that the exporter's forward hooks see them.

Hooks see module calls only: a bare ``a + b``, ``a * b`` or ``a @ b`` inside ``forward`` is
invisible to the exporter. Models write ``self.add(a, b)`` / ``self.mul(a, b)`` /
``self.matmul(a, b)`` with these instead; the exporter then records an ``add`` op naming both
producers, an ``elementwise`` multiply, or a ``matmul`` op (both operands produced at run time,
e.g. attention's Q @ K^T and A @ V).
"""
from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    """``a + b`` (residual connections)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Mul(nn.Module):
    """``a * b`` elementwise (e.g. the gate of a GEGLU feed-forward)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * b


class MatMul(nn.Module):
    """``a @ b`` over the last two axes; leading axes are batch (e.g. heads)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.matmul(a, b)
