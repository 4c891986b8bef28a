"""A Spikformer-style spiking transformer (Zhou et al., ICLR 2023, arXiv 2209.15425), trainable
(PyTorch): the workload of LoAS's transformer scaling point (the paper runs a Spikformer layer on
LoAS; docs/workloads/spikformer.md).

Spiking self-attention (SSA, :class:`SSA`), per head, on spike queries, keys and values (each a
1x1 conv + BN + LIF of the block's input spikes): ``A = Q K^T`` (spike x spike: the count of
features where both fired), ``O = A V``, no softmax; Spikformer scales by 0.125 and fires an
attention LIF at threshold 0.5, which is the same neuron as a LIF at threshold 0.5 / 0.125 = 4 on
the unscaled product (a LIF's charge is linear in its input; reset to 0), so the scale is folded
into that threshold. ``O`` is computed as ``O^T = V^T A^T``: the spike operand first, the way an
FTP join takes it (spikes x multi-bit values), with the same numbers. Then the projection
(1x1 conv + BN), and the MLP (1x1 convs ``D -> 4D -> D`` with BN and LIF): Spikformer's feed-forward
layer, the layer the LoAS paper places beside VGG16's conv8.

One departure from Spikformer, for spike inputs everywhere: Spikformer adds the attention's and
MLP's output spikes into its residual stream, so its Q/K/V and MLP layers read integers 0..2, not
spikes, which LoAS's temporal-parallel join cannot take. The blocks here keep the residual stream
as membrane input and fire a LIF before every GEMM (the membrane shortcut of the Spike-driven
Transformer, the block of :class:`workloads.papers.statten.model.Block`, whose layers this reuses): every
GEMM of a block reads spikes. The stem is STAtten's SPS (:class:`workloads.papers.statten.model.SPS`).
"""
from __future__ import annotations

import torch
from torch import nn

from workloads.ops import MatMul
from workloads.papers.statten.model import Block, SpikingTransformerBody, _lif
from workloads.snn.network import SpikingNet

SPIKFORMER_SCALE = 0.125       # Spikformer's attention scale
ATTN_THRESHOLD = 0.5           # Spikformer's attention LIF threshold (on the scaled product)


class SSA(nn.Module):
    """Spiking self-attention on spikes ``q, k, v [T*B, D, H, W]`` -> the unscaled ``Q K^T V`` per
    head, ``[T*B, D, H, W]`` (token n = h*W + w, head j holds channels j*d .. j*d + d - 1)."""

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads
        self.qk = MatMul()        # [T*B, h, N, d] x [T*B, h, d, N]: spike x spike -> counts A
        self.va = MatMul()        # [T*B, h, d, N] x [T*B, h, N, N]: spike V^T x A^T -> O^T

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        TB, D, H, W = q.shape
        h = self.heads
        if D % h:
            raise ValueError(f"channels {D} must be a multiple of heads {h}")
        per = lambda x: x.reshape(TB, h, D // h, H * W)      # noqa: E731  [T*B, h, d, N] (a view)
        attn = self.qk(per(q).transpose(-1, -2), per(k))       # A = Q K^T  [T*B, h, N, N]
        out_t = self.va(per(v), attn.transpose(-1, -2))        # O^T = V^T A^T  [T*B, h, d, N]
        return out_t.reshape(TB, D, H, W)


class SpikformerBlock(Block):
    """The block of :class:`~workloads.papers.statten.model.Block` (LIF -> Q, K, V -> attention -> LIF ->
    projection; LIF -> fc1 -> LIF -> fc2; membrane shortcuts) with Spikformer's SSA."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__(dim, heads, chunk_size=1, grid=1, mlp_ratio=mlp_ratio)
        self.attn = SSA(heads)
        self.attn_lif = _lif(v_threshold=ATTN_THRESHOLD / SPIKFORMER_SCALE)


class SpikformerBody(SpikingTransformerBody):
    def __init__(self, in_channels: int, num_classes: int, dim: int, layers: int, heads: int, mlp_ratio: int,
                 pooling_stat: str):
        super().__init__(in_channels, num_classes, dim, layers, pooling_stat,
                         lambda: SpikformerBlock(dim, heads, mlp_ratio))


def spikformer(num_classes: int = 10, timesteps: int = 4, encoding: str = "direct", in_channels: int = 1,
               dim: int = 128, layers: int = 1, heads: int = 8, mlp_ratio: int = 4, pooling_stat: str = "1001",
               **_ignored) -> SpikingNet:
    """A small Spikformer: ``layers`` blocks of width ``dim`` (default one block, D = 128, 8 heads of
    16, MLP 128 -> 512 -> 128), 64 tokens on a 32x32 input (the stem pools after its first and last
    conv), T = 4."""
    if dim % heads or dim % 8:
        raise ValueError(f"dim {dim} must be a multiple of heads {heads} and of 8")
    body = SpikformerBody(in_channels, num_classes, dim, layers, heads, mlp_ratio, pooling_stat)
    return SpikingNet(body, timesteps=timesteps, encoding=encoding, num_classes=num_classes, in_channels=in_channels)


@torch.no_grad()
def reference_ssa(q, k, v, heads: int) -> torch.Tensor:
    """Spikformer's attention as its authors write it, ``(Q K^T) V`` per head and timestep, unscaled
    (the specification of :class:`SSA`)."""
    TB, D, H, W = q.shape
    per = lambda x: x.reshape(TB, heads, D // heads, H * W).transpose(-1, -2)   # noqa: E731  [TB, h, N, d]
    out = (per(q) @ per(k).transpose(-1, -2)) @ per(v)                           # [TB, h, N, d]
    return out.transpose(-1, -2).reshape(TB, D, H, W)
