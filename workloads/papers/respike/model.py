"""ReSpike, trainable (PyTorch): a hybrid ANN-SNN on clips of ``stride`` frames, with the structure
of ``archsim.generators.shapes.respike`` (see docs/workloads/respike.md), scaled down for the CPU:

* **ANN** (``branch: ann``, runs once per clip on the key frame, frame 0): a bottleneck ResNet
  (the ResNet-50 block: 1x1, 3x3, 1x1 with expansion 4; one block per stage, widths 8-64, outputs
  32/64/128/256 channels at 20/10/5/3 pixels for 40x40 frames);
* **SNN** (``branch: snn``, ``T = stride - 1`` timesteps, one residual frame = frame minus key frame
  each): a 3x3 conv, then four stages (16/32/64/128 channels, 20/10/5/3 pixels) of one
  pre-activation spiking block each (LIF -> 3x3 conv -> LIF -> 3x3 conv, shortcut a strided 1x1
  conv + BN when the shape changes, as ResNet-18's); LIF tau 4/3, threshold 1, hard reset;
* **fusion** (``branch: fusion``) after each SNN stage: GroupNorm, 1x1 in, self-attention,
  cross-attention (queries from the SNN tokens, keys and values from the ANN stage features),
  GEGLU feed-forward, 1x1 out (zero-initialised), residual; stages 1-2 (and their contexts) are
  average-pooled to the stage-3 grid before it and upsampled after; heads of 8;
* **head**: the SNN's stage-4 output averaged over T, concatenated with the ANN's, pooled, linear.

``kv_reuse``: the cross-attention keys and values are computed once per clip from the ANN
context (``trace_timesteps = 1``) and repeated for the T timesteps, instead of at every timestep
as the authors' code does; the two compute the same function.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from archsim.trace.schema import Role
from workloads.capture.aten_ops import Emit, Operand
from workloads.ops import Add, MatMul, Mul
from workloads.snn.neuron import LIF

ANN_WIDTHS = (8, 16, 32, 64)          # bottleneck widths; outputs x4
SNN_WIDTHS = (16, 32, 64, 128)
D_HEAD = 8


def set_trace_hints(module: nn.Module, timesteps: int | None = None, **tags) -> None:
    """Mark every submodule: the timesteps it runs on (``trace_timesteps``) and tags for its ops."""
    for m in module.modules():
        if timesteps is not None:
            m.trace_timesteps = timesteps
        m.trace_tags = {**(getattr(m, "trace_tags", None) or {}), **tags}


# --- modules that write their own (or no) ops ---------------------------------------------------

class Normalize(nn.Module):
    """``(clip - mean) / std``: the input pipeline, as a SpikingNet's encoding. No op in the trace
    (``trace_through``): the network's layers read the clip."""

    trace_through = True

    def forward(self, clip, mean, std):
        return (clip - mean) / std


class ResidualFrames(nn.Module):
    """clip ``[B, F, C, H, W]`` -> the residual frames ``[T*B, C, H, W]`` (frame t+1 minus frame 0,
    timestep-major). In the trace: one elementwise subtraction per residual pixel."""

    timesteps = 1

    def forward(self, clip):
        res = clip[:, 1:] - clip[:, :1]
        return res.transpose(0, 1).reshape(-1, *clip.shape[2:])

    def trace_ops(self, call):
        out, T = call.view.node.out[0].array, call.timesteps
        per_t = out.shape[0] // T
        return [Emit("elementwise", dict(function="subtract_key_frame", elements=per_t * math.prod(out.shape[1:])), [],
                     Operand.described(role=Role.activation, data=out.reshape(T, per_t, *out.shape[1:]),
                                       bits=call.options.get("input_bits") or 8, store=False, timesteps=T),
                     timesteps=T)]


class RepeatTimesteps(nn.Module):
    """``[B, ...]`` -> ``[T*B, ...]`` (the same tensor at every timestep). No op (a repeat is a view
    to the capture): its output stands for its input's producer."""

    timesteps = 1

    def forward(self, x):
        return x.repeat(self.timesteps, *([1] * (x.dim() - 1)))


class TimeMeanConcat(nn.Module):
    """SNN features ``[T*B, C1, h, w]`` averaged over T, concatenated with the ANN's ``[B, C2, h, w]``."""

    timesteps = 1

    def forward(self, snn, ann):
        T = self.timesteps
        return torch.cat([snn.view(T, -1, *snn.shape[1:]).mean(0), ann], 1)

    def trace_ops(self, call):
        snn, out, T = call.view.node.args[0], call.view.node.out[0], call.timesteps
        per = snn.shape[0] // T
        return [Emit("elementwise", dict(function="mean_over_t", elements=per * math.prod(snn.shape[1:])), [],
                     suffix=".mean_t", reads=[0], timesteps=T),
                Emit("concat", dict(axis=1, elements=math.prod(out.shape)), [], suffix="", reads=[".mean_t", 1],
                     timesteps=1)]


# --- the ANN -------------------------------------------------------------------------------------

class Bottleneck(nn.Module):
    def __init__(self, cin: int, width: int, stride: int):
        super().__init__()
        cout = 4 * width
        self.conv1, self.bn1, self.relu1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        self.conv2, self.bn2, self.relu2 = (nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width),
                                            nn.ReLU())
        self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.add, self.relu3 = Add(), nn.ReLU()

    def forward(self, x):
        h = self.relu1(self.bn1(self.conv1(x)))
        h = self.relu2(self.bn2(self.conv2(h)))
        return self.relu3(self.add(self.bn3(self.conv3(h)), self.downsample(x)))


class ANN(nn.Module):
    def __init__(self, in_channels: int):
        super().__init__()
        self.conv1, self.bn1, self.relu = nn.Conv2d(in_channels, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
        cin, stages = 16, []
        for i, w in enumerate(ANN_WIDTHS):
            stages.append(Bottleneck(cin, w, 1 if i == 0 else 2))
            cin = 4 * w
        self.stages = nn.ModuleList(stages)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        feats = []
        for s in self.stages:
            x = s(x)
            feats.append(x)
        return feats


# --- the SNN ---------------------------------------------------------------------------------------

class SNNBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.lif1, self.conv1, self.bn1 = LIF(), nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.lif2, self.conv2, self.bn2 = LIF(), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())
        self.add = Add()

    def forward(self, x):
        h = self.bn1(self.conv1(self.lif1(x)))
        return self.add(self.bn2(self.conv2(self.lif2(h))), self.shortcut(x))


# --- fusion ----------------------------------------------------------------------------------------

class ScaledSoftmax(nn.Softmax):
    def __init__(self, scale: float):
        super().__init__(dim=-1)
        self.scale = scale

    def forward(self, x):
        return F.softmax(x * self.scale, dim=-1)


class Attention(nn.Module):
    """Multi-head attention of ``x [R, n, C]`` on ``context [R, m, Cc]`` (self-attention: context = x).
    ``kv_once``: keys and values come from a context of one timestep ``[B, m, Cc]`` and are
    repeated for the T timesteps."""

    def __init__(self, C: int, context_dim: int | None = None, kv_once: bool = False):
        super().__init__()
        self.heads = C // D_HEAD
        self.to_q = nn.Linear(C, C, bias=False)
        self.to_k = nn.Linear(context_dim or C, C, bias=False)
        self.to_v = nn.Linear(context_dim or C, C, bias=False)
        self.qk, self.softmax, self.av = MatMul(), ScaledSoftmax(D_HEAD ** -0.5), MatMul()
        self.to_out = nn.Linear(C, C)
        self.repeat_k, self.repeat_v = RepeatTimesteps(), RepeatTimesteps()
        self.set_kv_once(kv_once)

    def set_kv_once(self, flag: bool) -> None:
        """Keys and values from the one-timestep context (then repeated), or from the repeated one:
        the same function, with T times less K/V work."""
        self.kv_once = bool(flag)
        for m in (self.to_k, self.to_v):
            m.trace_timesteps = 1 if flag else None

    def forward(self, x, context):
        R, n, C = x.shape
        h = self.heads
        k, v = self.to_k(context), self.to_v(context)
        if self.kv_once:
            k, v = self.repeat_k(k), self.repeat_v(v)
        q = self.to_q(x)
        heads = lambda t: t.view(R, t.shape[1], h, D_HEAD).transpose(1, 2)   # noqa: E731  [R, h, tokens, d]
        p = self.softmax(self.qk(heads(q), heads(k).transpose(-1, -2)))
        return self.to_out(self.av(p, heads(v)).transpose(1, 2).reshape(R, n, C))


class Fusion(nn.Module):
    def __init__(self, C: int, context_dim: int, kv_once: bool):
        super().__init__()
        self.norm = nn.GroupNorm(4, C)
        self.proj_in = nn.Conv2d(C, C, 1)
        self.ln1, self.self_attn, self.res1 = nn.LayerNorm(C), Attention(C), Add()
        self.ln2, self.cross_attn, self.res2 = nn.LayerNorm(C), Attention(C, context_dim, kv_once), Add()
        self.ln3, self.ff_proj, self.gelu, self.glu = nn.LayerNorm(C), nn.Linear(C, 8 * C), nn.GELU(), Mul()
        self.ff_out, self.res3 = nn.Linear(4 * C, C), Add()
        self.proj_out = nn.Conv2d(C, C, 1)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)
        self.res = Add()

    def forward(self, x, context):
        R, C, hh, ww = x.shape
        y = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)          # [R, n, C]
        z = self.ln1(y)
        y = self.res1(self.self_attn(z, z), y)
        y = self.res2(self.cross_attn(self.ln2(y), context), y)
        g = self.ff_proj(self.ln3(y))
        a, gate = g[..., :4 * C], g[..., 4 * C:]
        y = self.res3(self.ff_out(self.glu(a, self.gelu(gate))), y)
        return self.res(self.proj_out(y.transpose(1, 2).reshape(R, C, hh, ww)), x)


# --- the hybrid -----------------------------------------------------------------------------------

class ReSpike(nn.Module):
    def __init__(self, num_classes: int = 10, stride: int = 4, in_channels: int = 1, kv_reuse: bool = False):
        super().__init__()
        self.timesteps = stride - 1
        self.register_buffer("input_mean", torch.zeros(1))
        self.register_buffer("input_std", torch.ones(1))
        self.normalize = Normalize()
        self.ann = ANN(in_channels)
        self.residual = ResidualFrames()
        self.snn_conv1 = nn.Conv2d(in_channels, SNN_WIDTHS[0], 3, 1, 1, bias=False)
        self.snn_bn1 = nn.BatchNorm2d(SNN_WIDTHS[0])
        cin, blocks = SNN_WIDTHS[0], []
        for w in SNN_WIDTHS:
            blocks.append(SNNBlock(cin, w, 2))
            cin = w
        self.snn_blocks = nn.ModuleList(blocks)
        ctx = [4 * w for w in ANN_WIDTHS]
        self.fusions = nn.ModuleList([Fusion(c, cc, kv_reuse) for c, cc in zip(SNN_WIDTHS, ctx)])
        self.down = nn.ModuleList([nn.AvgPool2d(4), nn.AvgPool2d(2)])         # stages 1-2 to the stage-3 grid
        self.ctx_down = nn.ModuleList([nn.AvgPool2d(4), nn.AvgPool2d(2)])
        self.up = nn.ModuleList([nn.Upsample(scale_factor=4, mode="bilinear"),
                                 nn.Upsample(scale_factor=2, mode="bilinear")])
        self.ctx_repeat = nn.ModuleList([RepeatTimesteps() for _ in range(4)])
        self.kv_reuse = kv_reuse
        self.head_cat = TimeMeanConcat()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(SNN_WIDTHS[-1] + ctx[-1], num_classes)
        from workloads.snn.neuron import set_timesteps
        set_timesteps(self, self.timesteps)
        set_trace_hints(self.ann, timesteps=1, branch="ann")
        for m in (self.ctx_down,):
            set_trace_hints(m, timesteps=1, branch="ann")
        set_trace_hints(self.residual, branch="snn")
        for m in (self.snn_conv1, self.snn_bn1, self.snn_blocks):
            set_trace_hints(m, branch="snn")
        for m in (self.fusions, self.down, self.up):
            set_trace_hints(m, branch="fusion")
        for f in self.fusions:
            set_trace_hints(f.self_attn, part="self")
            set_trace_hints(f.cross_attn, part="cross")
        set_trace_hints(self.ctx_repeat, branch="fusion")
        for m in (self.head_cat, self.pool, self.flatten, self.fc):
            set_trace_hints(m, branch="head")
        for m in (self.pool, self.flatten, self.fc):
            set_trace_hints(m, timesteps=1)

    def set_kv_reuse(self, flag: bool) -> None:
        """Cross-attention K/V once per clip (True) or at every timestep (False, the authors' code)."""
        self.kv_reuse = bool(flag)
        for f in self.fusions:
            f.cross_attn.set_kv_once(flag)

    def set_input_stats(self, mean: float, std: float) -> None:
        self.input_mean.fill_(float(mean))
        self.input_std.fill_(float(std))

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """``clip [B, stride, C, H, W]`` in [0, 1] -> class scores ``[B, classes]``."""
        if clip.dim() != 5 or clip.shape[1] != self.timesteps + 1:
            raise ValueError(f"ReSpike expects clips [B, {self.timesteps + 1}, C, H, W], got {tuple(clip.shape)}")
        clip = self.normalize(clip, self.input_mean, self.input_std)
        feats = self.ann(clip[:, 0])                                        # once per key frame
        contexts = []
        for i, f in enumerate(feats):
            if i < 2:
                f = self.ctx_down[i](f)
            contexts.append(f.flatten(2).transpose(1, 2))                  # [B, m, Cc]
        x = self.snn_bn1(self.snn_conv1(self.residual(clip)))              # [T*B, C, H, W]
        for i, (block, fusion) in enumerate(zip(self.snn_blocks, self.fusions)):
            x = block(x)
            ctx = contexts[i] if self.kv_reuse else self.ctx_repeat[i](contexts[i])
            if i < 2:
                x = self.up[i](fusion(self.down[i](x), ctx))
            else:
                x = fusion(x, ctx)
        return self.fc(self.flatten(self.pool(self.head_cat(x, feats[-1]))))


def respike(num_classes: int = 10, timesteps: int = 3, encoding: str = "direct", in_channels: int = 1,
            kv_reuse: bool = False, **_ignored) -> ReSpike:
    """The small ReSpike: ``timesteps`` residual frames per clip (stride = timesteps + 1)."""
    model = ReSpike(num_classes, stride=timesteps + 1, in_channels=in_channels, kv_reuse=kv_reuse)
    for m in model.modules():        # ResidualFrames, RepeatTimesteps, TimeMeanConcat need T
        if isinstance(m, (ResidualFrames, RepeatTimesteps, TimeMeanConcat)):
            m.timesteps = model.timesteps
    return model
