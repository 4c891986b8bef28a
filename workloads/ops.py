"""Functional operations as modules: each call is one trace op of our models' export
(:mod:`workloads.model_export`, a rule per class over the graph capture).

The capture sees a bare ``a + b`` too, as the aten ops it runs; a module says what the op is as a
whole: ``self.add(a, b)`` / ``self.mul(a, b)`` / ``self.matmul(a, b)`` become an ``add`` op
naming both producers (a subclass that also scales the sum, e.g. TT-SNN's two-branch mean,
included), an ``elementwise`` multiply, or a ``matmul`` op over the leading axes (both operands
produced at run time, e.g. attention's Q @ K^T and A @ V).
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
