"""A general vision transformer (ViT) for the frontends: any depth, width, heads, MLP size, patch
and image size, optionally with prefix prompts in the keys and values of chosen layers.

Every operation an accelerator cares about is its own module, so a hook-based exporter sees it:
the patch embedding is a ``Conv2d`` (kernel = stride = patch), the attention products Q.K^T and
P.V are :class:`MatMul` modules (``attn.qk``, ``attn.av``), softmax an ``nn.Softmax``, the MLP
``Linear -> GELU -> Linear``. ``attn.k_out`` and ``attn.v_out`` (identities by default) see K and
V, head-split ``[B, heads, tokens, head_dim]``, just before they are used as the stationary
operands: K/V clipping or noise (ClipFormer) replaces them.

**Prefix prompts** (prefix tuning as in DualPrompt / CODA-Prompt / OS-Prompt): ``forward(x,
prompts=fn)`` calls ``fn(layer_index, tokens)`` before each block with that block's input
``[B, N, D]``; it returns ``None`` or a pair ``(pk, pv)`` of ``[B, P, D]`` tensors that are
split into heads and prepended to the block's keys and values (not projected), so the block's
``N`` queries attend to ``P + N`` keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

Prefix = tuple[torch.Tensor, torch.Tensor]
PromptFn = Callable[[int, torch.Tensor], "Prefix | None"]


@dataclass(frozen=True)
class ViTConfig:
    image_size: int = 224
    patch_size: int = 16
    in_channels: int = 3
    num_classes: int = 1000
    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_dim: int = 3072
    qkv_bias: bool = True
    layernorm_eps: float = 1e-6

    @property
    def patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2

    @property
    def tokens(self) -> int:
        return self.patches + 1


# ViT-B/16 (Dosovitskiy et al., ICLR 2021), the OS-Prompt backbone; DeiT-S (Touvron et al., 2021)
VIT_B16 = ViTConfig()
DEIT_S = ViTConfig(dim=384, heads=6, mlp_dim=1536)


class MatMul(nn.Module):
    """``a @ b``: a run-time product (both operands produced by the network)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qkv_bias: bool = True):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.heads, self.head_dim = heads, dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.k_out = nn.Identity()
        self.v_out = nn.Identity()
        self.qk = MatMul()
        self.softmax = nn.Softmax(dim=-1)
        self.av = MatMul()
        self.proj = nn.Linear(dim, dim)

    def _heads(self, t: torch.Tensor) -> torch.Tensor:
        b, n, _ = t.shape
        return t.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, prefix: Prefix | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if prefix is not None:
            pk, pv = prefix
            k = torch.cat([self._heads(pk), k], dim=2)
            v = torch.cat([self._heads(pv), v], dim=2)
        k, v = self.k_out(k), self.v_out(v)
        attn = self.softmax(self.qk(q * self.scale, k.transpose(-2, -1)))
        out = self.av(attn, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps)
        self.attn = Attention(cfg.dim, cfg.heads, cfg.qkv_bias)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps)
        self.mlp = Mlp(cfg.dim, cfg.mlp_dim)

    def forward(self, x: torch.Tensor, prefix: Prefix | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), prefix)
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        if cfg.image_size % cfg.patch_size:
            raise ValueError(f"image size {cfg.image_size} is not a multiple of the patch size {cfg.patch_size}")
        self.cfg = cfg
        self.patch_embed = nn.Conv2d(cfg.in_channels, cfg.dim, cfg.patch_size, stride=cfg.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embed = nn.Parameter(torch.randn(1, cfg.tokens, cfg.dim) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        p = self.patch_embed(x).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(p.shape[0], -1, -1)
        return torch.cat([cls, p], dim=1) + self.pos_embed

    def features(self, x: torch.Tensor, prompts: PromptFn | None = None, depth: int | None = None) -> torch.Tensor:
        """The normalised class token after ``depth`` blocks (all by default)."""
        t = self.embed(x)
        for i, block in enumerate(self.blocks[:depth]):
            t = block(t, prompts(i, t) if prompts is not None else None)
        return self.norm(t)[:, 0]

    def forward(self, x: torch.Tensor, prompts: PromptFn | None = None) -> torch.Tensor:
        return self.head(self.features(x, prompts))
