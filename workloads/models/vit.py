"""A general vision transformer (ViT) for the frontends: any depth, width, heads, MLP size, patch
and image size, optionally with prefix prompts in the keys and values of chosen layers, TReX
attention reuse, and LV-ViT's convolutional stem and token-labelling head.

Every operation an accelerator cares about is its own module, so the exporter's module rules can name it:
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

**TReX attention reuse** (``ViTConfig.reuse = ((i, j), ...)``, Moitra et al., IEEE TETC 2024):
block ``i`` has no attention; its ``tb`` (:class:`TransformationBlock`: LayerNorm -> D x D linear
-> GELU) reads block ``j``'s concatenated head outputs (``attn.av`` reshaped to ``[B, N, D]``,
before ``j``'s output projection) and feeds the residual; its MLP stays. ``j`` must compute its own
attention (:mod:`archsim.generators.shapes.reuse` builds the patterns).

**LV-ViT** (Jiang et al., NeurIPS 2021): ``stem="conv"`` is the 4-layer patch embedding
(conv 7x7/2 -> BN -> ReLU -> 2 x (conv 3x3 -> BN -> ReLU) -> conv (patch/2)/(patch/2), the last
one named ``patch_embed``); ``aux_head`` adds the token-labelling head that inference also uses
(``head(cls) + 0.5 max_tokens aux_head(tokens)``).
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
    reuse: tuple[tuple[int, int], ...] = ()   # TReX: (reuse block, source block) pairs
    stem: str = "patch"                       # patch | conv (LV-ViT)
    stem_channels: int = 64
    aux_head: bool = False                    # LV-ViT's token-labelling head

    @property
    def reuse_map(self) -> dict[int, int]:
        from archsim.generators.shapes.reuse import check_reuse
        return check_reuse(dict(self.reuse), self.depth)

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

    def attend(self, x: torch.Tensor, prefix: Prefix | None = None) -> torch.Tensor:
        """The concatenated head outputs ``[B, N, D]`` (before the output projection)."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if prefix is not None:
            pk, pv = prefix
            k = torch.cat([self._heads(pk), k], dim=2)
            v = torch.cat([self._heads(pv), v], dim=2)
        k, v = self.k_out(k), self.v_out(v)
        attn = self.softmax(self.qk(q * self.scale, k.transpose(-2, -1)))
        return self.av(attn, v).transpose(1, 2).reshape(b, n, d)

    def forward(self, x: torch.Tensor, prefix: Prefix | None = None) -> torch.Tensor:
        return self.proj(self.attend(x, prefix))


class TransformationBlock(nn.Module):
    """TReX's transformation block on a reused attention output: LayerNorm -> D x D -> GELU."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.ln = nn.LayerNorm(dim, eps=eps)
        self.fc = nn.Linear(dim, dim)
        self.act = nn.GELU()

    def forward(self, heads: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(self.ln(heads)))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """A pre-LN encoder; with ``reuse_source`` set, a TReX reuse encoder (no attention). ``forward``
    returns the tokens and its concatenated head outputs (None for a reuse encoder), which later
    reuse encoders read; nothing of a forward pass stays on the module (it must deep-copy)."""

    def __init__(self, cfg: ViTConfig, reuse_source: int | None = None):
        super().__init__()
        self.reuse_source = reuse_source
        if reuse_source is None:
            self.norm1 = nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps)
            self.attn = Attention(cfg.dim, cfg.heads, cfg.qkv_bias)
        else:
            self.tb = TransformationBlock(cfg.dim, cfg.layernorm_eps)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps)
        self.mlp = Mlp(cfg.dim, cfg.mlp_dim)

    def forward(self, x: torch.Tensor, prefix: Prefix | None = None,
                reused: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``reused``: the source encoder's head outputs (reuse encoders only)."""
        if self.reuse_source is None:
            heads = self.attn.attend(self.norm1(x), prefix)
            x = x + self.attn.proj(heads)
        else:
            if reused is None:
                raise ValueError(f"a reuse encoder needs the head outputs of encoder {self.reuse_source}")
            if prefix is not None:
                raise ValueError("a reuse encoder has no attention to prepend prompts to")
            heads = None
            x = x + self.tb(reused)
        return x + self.mlp(self.norm2(x)), heads


class ConvStem(nn.Module):
    """LV-ViT's ``PatchEmbed4_2``: three convolutions with BatchNorm and ReLU at half resolution,
    then a (patch/2)-strided projection to the token width (``patch_embed``)."""

    def __init__(self, cfg: ViTConfig):
        super().__init__()
        c, half = cfg.stem_channels, cfg.patch_size // 2
        if cfg.patch_size % 2:
            raise ValueError(f"the convolutional stem needs an even patch size, got {cfg.patch_size}")
        self.conv1 = nn.Conv2d(cfg.in_channels, c, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.conv3 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.patch_embed = nn.Conv2d(c, cfg.dim, half, stride=half)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        x = self.relu(self.bn3(self.conv3(x)))
        return self.patch_embed(x)


class ViT(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        if cfg.image_size % cfg.patch_size:
            raise ValueError(f"image size {cfg.image_size} is not a multiple of the patch size {cfg.patch_size}")
        if cfg.stem not in ("patch", "conv"):
            raise ValueError(f"stem must be 'patch' or 'conv', got {cfg.stem!r}")
        self.cfg = cfg
        reuse = cfg.reuse_map
        if cfg.stem == "conv":
            self.stem = ConvStem(cfg)
        else:
            self.patch_embed = nn.Conv2d(cfg.in_channels, cfg.dim, cfg.patch_size, stride=cfg.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embed = nn.Parameter(torch.randn(1, cfg.tokens, cfg.dim) * 0.02)
        self.blocks = nn.ModuleList(Block(cfg, reuse.get(i)) for i in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.layernorm_eps)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)
        if cfg.aux_head:
            self.aux_head = nn.Linear(cfg.dim, cfg.num_classes)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        p = (self.stem(x) if self.cfg.stem == "conv" else self.patch_embed(x)).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(p.shape[0], -1, -1)
        return torch.cat([cls, p], dim=1) + self.pos_embed

    def tokens(self, x: torch.Tensor, prompts: PromptFn | None = None, depth: int | None = None) -> torch.Tensor:
        """All tokens after ``depth`` blocks (all by default), normalised: ``[B, N, D]``."""
        t = self.embed(x)
        heads: dict[int, torch.Tensor] = {}
        for i, block in enumerate(self.blocks[:depth]):
            prefix = prompts(i, t) if prompts is not None else None
            src = block.reuse_source
            t, out = block(t, prefix, heads.get(src) if src is not None else None)
            if out is not None:
                heads[i] = out
        return self.norm(t)

    def features(self, x: torch.Tensor, prompts: PromptFn | None = None, depth: int | None = None) -> torch.Tensor:
        """The normalised class token after ``depth`` blocks (all by default)."""
        return self.tokens(x, prompts, depth)[:, 0]

    def forward(self, x: torch.Tensor, prompts: PromptFn | None = None) -> torch.Tensor:
        t = self.tokens(x, prompts)
        logits = self.head(t[:, 0])
        if self.cfg.aux_head:
            logits = logits + 0.5 * self.aux_head(t[:, 1:]).max(dim=1).values
        return logits
