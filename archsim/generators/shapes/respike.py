"""ReSpike (hybrid ANN-SNN video recognition): one key-frame group as a shape-only trace, and the
ANN-only alternative. See docs/workloads/respike.md.

A clip is cut into groups of ``stride`` frames. The **ANN branch** (tag ``branch: ann``;
ResNet-50, ``timesteps = 1``) runs on the group's key frame and gives four stage features; the
**SNN branch** (``branch: snn``; a spiking ResNet-18 shape, width 64, ``T = stride - 1``
timesteps) runs on the residual frames (frame minus key frame: multi-bit input). After each SNN
stage a **fusion** transformer (``branch: fusion``: GroupNorm, 1x1 in, self-attention,
cross-attention with queries from the SNN tokens and keys/values from the ANN stage features,
GEGLU feed-forward, 1x1 out, residual) mixes in the ANN context; stages 1-2 are pooled to 14x14
before it and upsampled after (the authors' ``--downsample``), so the fusions see 196, 196, 196,
49 tokens. The classifier (``branch: head``) concatenates the ANN stage-4 features with the SNN's
averaged over T, pools and classifies, once per group.

The cross-attention keys and values depend only on the key frame. ``kv_reuse=False`` computes
them at every SNN timestep, as the authors' code does; ``kv_reuse=True`` once per group
(``timesteps = 1``, tag ``reuse: key_frame``), saving ``(T - 1)`` times their MACs.

SNN block (pre-activation): LIF -> 3x3 conv (stride) -> LIF -> 3x3 conv, added to the stream or
to ``avgpool 2x2 -> 1x1 conv`` of it (multi-bit). LIF tau 4/3 (leak 0.25), threshold 1, hard
reset. BatchNorm folds into the convs; ReLUs of the ANN fold into its convs' outputs.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from archsim.trace.io import Trace
from archsim.trace.schema import Header, Provenance, Role
from archsim.generators.shapes.layers import Act, ShapeNet

SOURCE = ("ReSpike (Xiao et al., arXiv 2409.01564); layout of GinnyXiao/ReSpike (e05ce61) model/attention_snn.py, "
          "model/fusion/attention.py; torchvision ResNet-50")
RESNET50 = ((64, 3), (128, 4), (256, 6), (512, 3))        # bottleneck width, blocks
SNN_CHANNELS = (64, 128, 256, 512)
DEFAULT_DENSITY = 0.15


def _resnet50(net: ShapeNet, x: Act, T: int, tag: dict) -> list[Act]:
    """torchvision ResNet-50 (v1.5: the stride on the 3x3 conv) without its classifier; the four
    stage outputs."""
    x = net.conv("ann.conv1", x, 64, 7, stride=2, pad=3, timesteps=T, tags={**tag, "encoding_layer": True})
    x = net.pool("ann.maxpool", x, 3, stride=2, pad=1, tags=tag)
    stages, cin = [], 64
    for si, (w, n) in enumerate(RESNET50):
        for bi in range(n):
            stride = 2 if (si > 0 and bi == 0) else 1
            name = f"ann.layer{si + 1}.{bi}"
            t = {**tag, "stage": si + 1}
            h = net.conv(f"{name}.conv1", x, w, 1, tags=t)
            h = net.conv(f"{name}.conv2", h, w, 3, stride=stride, tags=t)
            h = net.conv(f"{name}.conv3", h, 4 * w, 1, tags=t)
            sc = net.conv(f"{name}.downsample", x, 4 * w, 1, stride=stride, tags=t) if bi == 0 else x
            x = net.add(f"{name}.add", h, sc, tags=t)
            cin = 4 * w
        stages.append(x)
    return stages


def _fusion(net: ShapeNet, name: str, x: Act, ctx: Act, *, T: int, kv_reuse: bool, d_head: int = 32) -> Act:
    """Spatial transformer on ``x`` [C, h, w] with context tokens ``ctx`` [m, Cc]."""
    C, h, w = x.shape
    n, (m, Cc) = h * w, ctx.shape
    heads = C // d_head
    tag = {"branch": "fusion", "fusion": name}
    tok = lambda a: Act(a.op, (n, C), a.role, a.bits, a.density, a.timesteps)  # noqa: E731  (b c h w -> b (h w) c)
    y = net.vector("layernorm", f"{name}.groupnorm", x, rows=32, cols=C // 32 * n, variant="group", tags=tag)
    y = tok(net.conv(f"{name}.proj_in", y, C, 1, tags=tag))

    def attention(part: str, q_in: Act, kv_in: Act, kv_tokens: int, kv_T: int) -> Act:
        t = {**tag, "part": part}
        q = net.linear(f"{name}.{part}.q", q_in, C, tags=t)
        rt = {"reuse": "key_frame"} if kv_T != T else {}
        k = net.linear(f"{name}.{part}.k", kv_in, C, timesteps=kv_T, tags={**t, **rt})
        v = net.linear(f"{name}.{part}.v", kv_in, C, timesteps=kv_T, tags={**t, **rt})
        kt = Act(k.op, (heads, d_head, kv_tokens), Role.dynamic_weight, k.bits, 1.0, kv_T)
        s = net.matmul(f"{name}.{part}.qk", Act(q.op, (heads, n, d_head), Role.activation, q.bits, 1.0, T), kt,
                       heads=heads, M=n, K=d_head, N=kv_tokens, timesteps=T, inputs=[q, k],
                       tags={**t, "operand": "k_t"})
        p = net.vector("softmax", f"{name}.{part}.softmax", s, rows=heads * n, cols=kv_tokens, tags=t)
        vv = Act(v.op, (heads, kv_tokens, d_head), Role.dynamic_weight, v.bits, 1.0, kv_T)
        o = net.matmul(f"{name}.{part}.av", Act(p.op, (heads, n, kv_tokens), Role.activation, 8, 1.0, T), vv,
                       heads=heads, M=n, K=kv_tokens, N=d_head, timesteps=T, inputs=[p, v],
                       tags={**t, "operand": "v"})
        return net.linear(f"{name}.{part}.out", Act(o.op, (n, C), Role.activation, o.bits, 1.0, T), C, tags=t)

    z = net.vector("layernorm", f"{name}.norm1", y, tags=tag)
    y = net.add(f"{name}.self.res", attention("self", z, z, n, T), y, tags=tag)
    z = net.vector("layernorm", f"{name}.norm2", y, tags=tag)
    y = net.add(f"{name}.cross.res", attention("cross", z, ctx, m, 1 if kv_reuse else T), y, tags=tag)
    z = net.vector("layernorm", f"{name}.norm3", y, tags=tag)
    g = net.linear(f"{name}.ff.proj", z, 8 * C, tags=tag)
    gate = net.vector("gelu", f"{name}.ff.gelu", Act(g.op, (n, 4 * C), g.role, g.bits, 1.0, T), tags=tag)
    g = net.vector("elementwise", f"{name}.ff.glu", gate, inputs=[g, gate], function="multiply", tags=tag)
    y = net.add(f"{name}.ff.res", net.linear(f"{name}.ff.out", g, C, tags=tag), y, tags=tag)
    y = net.conv(f"{name}.proj_out", Act(y.op, (C, h, w), Role.activation, y.bits, 1.0, T), C, 1, tags=tag)
    return net.add(f"{name}.res", y, x, tags=tag)


def respike_trace(*, model: str = "respike", stride: int = 4, image: int = 224, classes: int = 51,
                  kv_reuse: bool = False, spike_density: float = DEFAULT_DENSITY, residual_density: float = 1.0,
                  bits: int = 8) -> Trace:
    """One key-frame group of ReSpike (ANN on the key frame, SNN + fusion on ``stride - 1``
    residual frames, the classifier)."""
    if stride < 2:
        raise ValueError(f"stride must be >= 2 (a key frame and at least one residual frame), got {stride}")
    if image % 32:
        raise ValueError(f"image must be a multiple of 32, got {image}")
    T = stride - 1
    cfg = dict(stride=stride, image=image, classes=classes, kv_reuse=kv_reuse, spike_density=spike_density,
               residual_density=residual_density, bits=bits)
    header = Header(model=model, source=SOURCE, dataset="shapes only", timesteps=T, config=cfg,
                    input_description=f"one group of {stride} frames {image}x{image}x3: a key frame (ANN) and "
                                      f"{T} residual frames (SNN, one per timestep)",
                    provenance=Provenance(weights="shape_only", inputs="none",
                                          notes=f"shapes only; SNN spikes at the assumed density {spike_density}; "
                                                f"{bits}-bit weights and activations"))
    net = ShapeNet(header, weight_bits=bits, out_bits=bits)
    ann = {"branch": "ann"}
    s1, s2, s3, s4 = _resnet50(net, net.input([3, image, image], bits=bits, timesteps=1), 1, ann)
    # ANN context for the fusions: stages 1-2 pooled to the fusion grid (once per key frame)
    contexts = [net.pool("ann.ctx1.pool", s1, 4, mode="avg", tags=ann), net.pool("ann.ctx2.pool", s2, 2, mode="avg",
                                                                                    tags=ann), s3, s4]
    contexts = [Act(c.op, (c.shape[1] * c.shape[2], c.shape[0]), Role.activation, bits, 1.0, 1) for c in contexts]

    lif = lambda op_id, x, **kw: net.lif(op_id, x, density=spike_density, leak=0.25, **kw)  # noqa: E731  (tau 4/3)
    snn = {"branch": "snn"}
    x = net.input([3, image, image], bits=bits, density=residual_density)
    x = net.conv("snn.conv1", x, SNN_CHANNELS[0], 3, stride=2, tags={**snn, "encoding_layer": True})
    cin = SNN_CHANNELS[0]
    for si, cout in enumerate(SNN_CHANNELS):
        for bi in range(2):
            stride_ = 2 if bi == 0 else 1
            name = f"snn.layer{si + 1}.{bi}"
            t = {**snn, "stage": si + 1}
            h = net.conv(f"{name}.conv1", lif(f"{name}.lif1", x, tags=t), cout, 3, stride=stride_, tags=t)
            h = net.conv(f"{name}.conv2", lif(f"{name}.lif2", h, tags=t), cout, 3, tags=t)
            if stride_ != 1 or cin != cout:
                sc = net.conv(f"{name}.shortcut", net.pool(f"{name}.shortcut_pool", x, 2, mode="avg", tags=t),
                              cout, 1, tags=t)
            else:
                sc = x
            x = net.add(f"{name}.add", h, sc, tags=t)
            cin = cout
        f = f"fusion{si + 1}"
        down = {0: 4, 1: 2}.get(si)
        y = net.pool(f"{f}.pool", x, down, mode="avg", tags={"branch": "fusion"}) if down else x
        y = _fusion(net, f, y, contexts[si], T=T, kv_reuse=kv_reuse)
        if down:
            y = net.vector("elementwise", f"{f}.upsample", y, out_shape=x.shape, function="bilinear_upsample",
                           ops_per_element=4, tags={"branch": "fusion"})
        x = y

    # classifier: SNN stage-4 features averaged over T, concatenated with the ANN's, pooled, linear
    head = {"branch": "head"}
    mean = net.vector("elementwise", "head.snn_mean", x, function="mean_over_t", tags=head)
    cat = net.vector("concat", "head.concat", Act(mean.op, (2560, 7 * image // 224, 7 * image // 224)), timesteps=1,
                     inputs=[mean, s4], axis=1, tags=head)
    pooled = net.pool("head.avgpool", Act(cat.op, cat.shape, Role.activation, bits, 1.0, 1), cat.shape[1], mode="avg",
                      tags=head)
    net.linear("head.fc", Act(pooled.op, (2560,), Role.activation, bits, 1.0, 1), classes, tags=head)
    return net.build(_branch_macs(net))


def _branch_macs(net: ShapeNet) -> dict[str, float]:
    out: dict[str, float] = {}
    for op in net.b.ops:
        if op.macs:
            key = f"macs_{op.tags.get('branch', 'other')}"
            out[key] = out.get(key, 0.0) + float(op.macs * op.timesteps)
    out["macs_cross_kv"] = float(sum(op.macs * op.timesteps for op in net.b.ops
                                     if op.tags.get("part") == "cross" and op.id.endswith((".k", ".v"))))
    return out


def ann_only_trace(*, model: str = "resnet50-all-frames", stride: int = 4, image: int = 224, classes: int = 51,
                   bits: int = 8) -> Trace:
    """The ANN alternative for the same group: ResNet-50 on all ``stride`` frames (``timesteps`` =
    frames; the weights stay, the frames stream), its classifier on each."""
    header = Header(model=model, source=SOURCE, dataset="shapes only", timesteps=stride,
                    input_description=f"{stride} frames {image}x{image}x3, each through ResNet-50",
                    config=dict(stride=stride, image=image, classes=classes, bits=bits),
                    provenance=Provenance(weights="shape_only", inputs="none", notes=f"shapes only; {bits}-bit"))
    net = ShapeNet(header, weight_bits=bits, out_bits=bits)
    ann = {"branch": "ann"}
    s4 = _resnet50(net, net.input([3, image, image], bits=bits, timesteps=stride), stride, ann)[-1]
    pooled = net.pool("head.avgpool", s4, s4.shape[1], mode="avg", tags={"branch": "head"})
    net.linear("head.fc", Act(pooled.op, (2048,), Role.activation, bits, 1.0, stride), classes,
               tags={"branch": "head"})
    return net.build(_branch_macs(net))


def main(argv=None) -> int:
    from archsim.cli.common import say_wrote

    p = argparse.ArgumentParser(description="write a shape-only ReSpike trace (one key-frame group)")
    p.add_argument("-o", "--out", required=True, type=Path)
    p.add_argument("--stride", type=int, default=4)
    p.add_argument("--kv-reuse", action="store_true", help="cross-attention K/V once per key frame")
    p.add_argument("--ann-only", action="store_true", help="ResNet-50 on every frame instead")
    args = p.parse_args(argv)
    tr = ann_only_trace(stride=args.stride) if args.ann_only else respike_trace(stride=args.stride,
                                                                               kv_reuse=args.kv_reuse)
    tr.save(args.out)
    say_wrote(args.out, f"{len(tr.ops)} ops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
