"""STAtten on the Spike-driven Transformer, trainable (PyTorch), with the layer structure of
``archsim.generators.shapes.statten`` (see docs/workloads/statten.md): the SPS stem, blocks of
LIF -> Q, K, V (1x1 conv + BN + LIF) -> spatial-temporal attention -> LIF (threshold 0.5) ->
projection, and the MLP, with membrane shortcuts; mean over tokens, LIF, classifier.

:class:`ChunkAttention` is the STAtten attention: per chunk of ``c`` timesteps and per head,
``A = K^T V`` over the chunk's ``c x N`` tokens (K and V are spikes: the entries count the
(timestep, token) pairs where both fired), then ``Q A``, scaled by 1 / grid side. For the trace it
writes its own ops (``trace_ops``): per chunk a spike x spike ``matmul`` (``timesteps = c``,
summed over them) and the ``Q x (K^T V)`` matmul with the real counts as its dynamic weight.
LIF: tau 2, threshold 1, hard reset (the authors' ``MultiStepLIFNode(tau=2.0)``).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Callable

import numpy as np
import torch
from torch import nn

from archsim.trace.schema import DType, Role
from workloads.ops import Add
from workloads.snn.network import SpikingNet
from workloads.snn.neuron import LIF


def _lif(**kw) -> LIF:
    return LIF(tau=2.0, **kw)


def conv_bn(cin: int, cout: int, k: int, bias: bool = False) -> nn.Sequential:
    return nn.Sequential(OrderedDict([("conv", nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)),
                                      ("bn", nn.BatchNorm2d(cout))]))


class ChunkAttention(nn.Module):
    """STAtten's attention on spikes ``q, k, v [T*B, D, H, W]`` -> ``[T*B, D, H, W]``."""

    def __init__(self, heads: int, chunk_size: int, scale: float):
        super().__init__()
        self.heads, self.chunk_size, self.scale = heads, chunk_size, scale
        self.timesteps = 1          # set by the network

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        """[T*B, D, H, W] -> [T/c, B, h, c*N, d] (the chunk's tokens stacked)."""
        T, c, h = self.timesteps, self.chunk_size, self.heads
        TB, D, H, W = x.shape
        B, N, d = TB // T, H * W, D // h
        x = x.reshape(T // c, c, B, h, d, N).permute(0, 2, 3, 1, 5, 4)      # [T/c, B, h, c, N, d]
        return x.reshape(T // c, B, h, c * N, d)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        T, c, h = self.timesteps, self.chunk_size, self.heads
        if T % c:
            raise ValueError(f"timesteps {T} must be a multiple of chunk_size {c}")
        TB, D, H, W = q.shape
        B, N, d = TB // T, H * W, D // h
        qs, ks, vs = self._split(q), self._split(k), self._split(v)
        attn = ks.transpose(-1, -2) @ vs * self.scale                        # [T/c, B, h, d, d]
        out = (qs @ attn).reshape(T // c, B, h, c, N, d).permute(0, 3, 1, 2, 5, 4)   # [T/c, c, B, h, d, N]
        return out.reshape(TB, D, H, W)

    # --- the trace ---------------------------------------------------------------------------
    def trace_ops(self, call) -> list:
        """Per chunk j: ``{name}.kv.c{j}`` (spike K^T x spike V, summed over the chunk) and
        ``{name}.qa.c{j}`` (spike Q x the counts); the Q x A ops stand for the output (a capture
        rule, :mod:`workloads.model_export`)."""
        from workloads.capture.aten_ops import Emit, Operand

        T, c, h = call.timesteps, self.chunk_size, self.heads
        store = call.options.get("store_spikes", True)
        q, k, v = (call.view.node.args[i].array for i in range(3))
        TB, D, H, W = q.shape
        B, N, d = TB // T, H * W, D // h
        heads_of = lambda a: a.reshape(T, B * h, d, N)          # noqa: E731  [T, B*h, d, N]: channel = head*d + j
        kT, vv, qq = heads_of(k), heads_of(v).transpose(0, 1, 3, 2), heads_of(q).transpose(0, 1, 3, 2)
        count_bits = math.ceil(math.log2(c * N + 1))
        out_bits = math.ceil(math.log2(d * c * N + 1))
        spikes = lambda a: Operand.described(role=Role.spike, data=a.astype(np.uint8), timesteps=c,  # noqa: E731
                                             store=store)
        emits = []
        for j in range(T // c):
            ts = slice(j * c, (j + 1) * c)
            tags = {"chunk": j, "chunk_size": c, "t_start": j * c, "part": "attn"}
            counts = np.einsum("tgdn,tgne->gde", kT[ts], vv[ts]).astype(np.int64)       # summed over the chunk
            emits.append(Emit(
                "matmul", dict(batch=B * h, M=d, K=N, N=d), [("a", spikes(kT[ts])), ("b", spikes(vv[ts]))],
                Operand.described(role=Role.activation, data=counts, bits=count_bits, dtype=DType.uint, store=False,
                                  timesteps=1),
                {**tags, "reduce": "timesteps"}, suffix=f".kv.c{j}", reads=[1, 2], timesteps=c))
            qa = np.einsum("tgnd,gde->tgne", qq[ts], counts)
            emits.append(Emit(
                "matmul", dict(batch=B * h, M=N, K=d, N=d),
                [("a", spikes(qq[ts])), ("b", Operand.described(role=Role.dynamic_weight, data=counts, bits=count_bits,
                                                                dtype=DType.uint, store=True))],
                Operand.described(role=Role.activation, data=qa, bits=out_bits, dtype=DType.uint, store=False,
                                  timesteps=c),
                tags, suffix=f".qa.c{j}", reads=[0, f".kv.c{j}"], timesteps=c, result=True))
        return emits


class SPS(nn.Module):
    """The stem: four conv + BN + LIF (max-pools per ``pooling_stat``), the relative-position conv."""

    def __init__(self, in_channels: int, dim: int, pooling_stat: str):
        super().__init__()
        chans = [in_channels, dim // 8, dim // 4, dim // 2, dim]
        self.pooling_stat = pooling_stat
        for i in range(4):
            self.add_module(f"conv{i}", conv_bn(chans[i], chans[i + 1], 3))
            self.add_module(f"lif{i}", _lif())
            if pooling_stat[i] == "1":
                self.add_module(f"pool{i}", nn.MaxPool2d(3, 2, 1))
        self.rpe = conv_bn(dim, dim, 3)
        self.res = Add()

    def forward(self, x):
        for i in range(4):
            x = getattr(self, f"conv{i}")(x)
            if i == 3:
                if self.pooling_stat[3] == "1":
                    x = self.pool3(x)
                feat = x
            x = getattr(self, f"lif{i}")(x)
            if i < 3 and self.pooling_stat[i] == "1":
                x = getattr(self, f"pool{i}")(x)
        return self.res(self.rpe(x), feat)


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, chunk_size: int, grid: int, mlp_ratio: int = 4):
        super().__init__()
        self.lif_in = _lif()
        self.q, self.k, self.v = conv_bn(dim, dim, 1), conv_bn(dim, dim, 1), conv_bn(dim, dim, 1)
        self.q_lif, self.k_lif, self.v_lif = _lif(), _lif(), _lif()
        self.attn = ChunkAttention(heads, chunk_size, 1.0 / grid)
        self.attn_lif = _lif(v_threshold=0.5)
        self.proj = conv_bn(dim, dim, 1, bias=True)
        self.attn_res = Add()
        self.mlp_lif1 = _lif()
        self.fc1 = conv_bn(dim, dim * mlp_ratio, 1, bias=True)
        self.mlp_lif2 = _lif()
        self.fc2 = conv_bn(dim * mlp_ratio, dim, 1, bias=True)
        self.mlp_res = Add()

    def forward(self, x):
        s = self.lif_in(x)
        a = self.attn(self.q_lif(self.q(s)), self.k_lif(self.k(s)), self.v_lif(self.v(s)))
        x = self.attn_res(self.proj(self.attn_lif(a)), x)
        h = self.fc1(self.mlp_lif1(x))
        return self.mlp_res(self.fc2(self.mlp_lif2(h)), x)


class SpikingTransformerBody(nn.Module):
    """The body STAtten and Spikformer (:mod:`workloads.papers.spikformer.model`) share: the SPS stem,
    ``layers`` blocks (``block()`` builds one), the mean over tokens, a LIF and the linear head."""

    def __init__(self, in_channels: int, num_classes: int, dim: int, layers: int, pooling_stat: str,
                 block: Callable[[], nn.Module]):
        super().__init__()
        self.sps = SPS(in_channels, dim, pooling_stat)
        self.blocks = nn.Sequential(*[block() for _ in range(layers)])
        self.mean = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.head_lif = _lif()
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        return self.head(self.head_lif(self.flatten(self.mean(self.blocks(self.sps(x))))))


class STAttenBody(SpikingTransformerBody):
    def __init__(self, in_channels: int, num_classes: int, dim: int, layers: int, heads: int, chunk_size: int,
                 image_size: int, pooling_stat: str):
        grid = image_size // 2 ** pooling_stat.count("1")
        super().__init__(in_channels, num_classes, dim, layers, pooling_stat,
                         lambda: Block(dim, heads, chunk_size, grid))


def statten(num_classes: int = 10, timesteps: int = 4, encoding: str = "direct", in_channels: int = 1,
            image_size: int = 32, dim: int = 64, layers: int = 2, heads: int = 4, chunk_size: int = 2,
            pooling_stat: str = "1001", **_ignored) -> SpikingNet:
    """A small STAtten (defaults: 2 blocks x D 64, 4 heads of 16, 64 tokens on 32x32 input, T = 4,
    c = 2). The stem pools after its first and last conv (``pooling_stat`` "1001") so that its
    middle convs run at 16x16: CIFAR's "0011" runs them at 32x32, four times the work, which our
    CPU training budget cannot afford; the blocks see the same 8x8 = 64 tokens."""
    if dim % heads or dim % 8:
        raise ValueError(f"dim {dim} must be a multiple of heads {heads} and of 8")
    body = STAttenBody(in_channels, num_classes, dim, layers, heads, chunk_size, image_size, pooling_stat)
    net = SpikingNet(body, timesteps=timesteps, encoding=encoding, num_classes=num_classes, in_channels=in_channels)
    return net


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def reference_attention(q, k, v, timesteps: int, heads: int, chunk_size: int, scale: float) -> torch.Tensor:
    """The attention written timestep by timestep (the specification of :class:`ChunkAttention`):
    for timestep t in chunk j, ``out_t = Q_t (sum_{s in chunk j} K_s^T V_s) * scale`` per head."""
    TB, D, H, W = q.shape
    T, h, c = timesteps, heads, chunk_size
    B, N, d = TB // T, H * W, D // h
    per = lambda x: x.reshape(T, B, h, d, N).transpose(-1, -2)   # noqa: E731  [T, B, h, N, d]
    Q, K, V = per(q), per(k), per(v)
    out = torch.empty_like(Q)
    for t in range(T):
        j = t // c
        A = sum(K[s].transpose(-1, -2) @ V[s] for s in range(j * c, (j + 1) * c))
        out[t] = Q[t] @ A * scale
    return out.transpose(-1, -2).reshape(TB, D, H, W)
