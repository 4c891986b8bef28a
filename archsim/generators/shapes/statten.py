"""STAtten (spatial-temporal attention, CVPR 2025) on the Spike-driven Transformer backbone, as a
shape-only trace, and its parameter count. See docs/workloads/statten.md.

**Stem (SPS).** Four 3x3 convs (D/8, D/4, D/2, D channels; BN folded) each followed by a LIF
(tau 2), max-pools (3x3, stride 2) where ``pooling_stat`` says, the last pool before the last
LIF; then a 3x3 "relative position" conv on those spikes, added to the pre-LIF features: the
real-valued residual stream. Only the first conv sees the (8-bit) image.

**Block** (``L`` of them, ``N`` tokens, width ``D``, ``h`` heads of ``d = D/h``):
a LIF on the stream; Q, K, V = LIF(1x1 conv) (spike inputs); the attention; a LIF (threshold
0.5); a 1x1 projection (spike input) added to the stream; the MLP: LIF -> 1x1 D->4D -> LIF ->
1x1 4D->D -> add.

**STAtten.** The T timesteps are cut into chunks of ``c``. For chunk ``j`` and each head, one
``matmul`` ``b{i}.attn.kv.c{j}`` forms ``K^T V`` (d x d) from the chunk's spikes: ``a`` = K^T
[d, N] and ``b`` = V [N, d] are both **spike** operands, ``timesteps = c`` and the output is the
sum over the chunk's timesteps (tag ``reduce: timesteps``): each entry counts the (timestep,
token) pairs where both fired, at most ``c*N``. Then ``b{i}.attn.qa.c{j}`` = Q [N, d] (spikes)
x (K^T V) [d, d] (a ``dynamic_weight`` of ``ceil(log2(c*N+1))`` bits) over the chunk's ``c``
timesteps. Both carry tags ``chunk``, ``chunk_size``, ``t_start``: an output at timestep t needs
every timestep of its chunk (the edges run from the K and V LIFs, whose T timesteps the chunk
ops read in part). Attention MACs are ``T * 2 * D * d * N`` per block whatever ``c``.

``attention="sdt"`` gives the Spike-driven Transformer's own linear attention instead: K AND V
(elementwise), a column sum over the tokens, a LIF on the D sums and a mask of Q.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

from archsim.trace.io import Trace
from archsim.trace.schema import Header, Provenance, Role
from archsim.generators.shapes.layers import Act, ShapeNet

SOURCE = ("STAtten (Lee et al., CVPR 2025, arXiv 2409.19764) on the Spike-driven Transformer (Yao et al., "
          "NeurIPS 2023); configurations of Intelligent-Computing-Lab-Yale/STAtten conf/ (e9048a1)")

PRESETS = {
    # conf/cifar10/2_256_200E_t4.yml, 2_512_...; conf/imagenet/8_512_200E_t4.yml, 8_768_...
    "cifar10_2_256": dict(layers=2, dim=256, heads=8, image=32, pooling_stat="0011", classes=10, timesteps=4,
                          chunk_size=2),
    "cifar10_2_512": dict(layers=2, dim=512, heads=8, image=32, pooling_stat="0011", classes=10, timesteps=4,
                          chunk_size=2),
    "imagenet_8_512": dict(layers=8, dim=512, heads=8, image=224, pooling_stat="1111", classes=1000, timesteps=4,
                           chunk_size=2),
    "imagenet_8_768": dict(layers=8, dim=768, heads=8, image=224, pooling_stat="1111", classes=1000, timesteps=4,
                           chunk_size=2),
}
# The published parameter counts (the STAtten paper's tables; 8_512 / 8_768 also in the
# Spike-driven Transformer paper as 29.68 M / 66.34 M), millions.
PUBLISHED_PARAMS_M = {"cifar10_2_256": 2.57, "cifar10_2_512": 10.24, "imagenet_8_512": 29.70, "imagenet_8_768": 66.35}
# Assumed spike densities of a shape-only trace (fraction of neurons firing per timestep) when
# none are measured: the range measured on small trained SNNs (research/workloads.md 3.2).
DEFAULT_DENSITY = 0.15


def parameter_count(*, layers: int, dim: int, heads: int, classes: int, in_chans: int = 3, mlp_ratio: int = 4,
                    **_) -> int:
    """Trainable parameters of the model as the authors' code builds it: conv weights, the
    biases of the projection and MLP convs, BatchNorm scale and shift, the talking-heads conv
    (built but unused by STAtten) and the classifier."""
    D, hidden = dim, dim * mlp_ratio
    bn = lambda c: 2 * c  # noqa: E731
    chans = [in_chans, D // 8, D // 4, D // 2, D]
    stem = sum(9 * chans[i] * chans[i + 1] + bn(chans[i + 1]) for i in range(4)) + 9 * D * D + bn(D)
    attn = 3 * (D * D + bn(D)) + heads * heads + (D * D + D + bn(D))
    mlp = (D * hidden + hidden + bn(hidden)) + (hidden * D + D + bn(D))
    head = D * classes + classes
    return stem + layers * (attn + mlp) + head


def statten_trace(*, model: str = "statten", layers: int, dim: int, heads: int, image: int, pooling_stat: str,
                  classes: int, timesteps: int = 4, chunk_size: int = 2, in_chans: int = 3, mlp_ratio: int = 4,
                  attention: str = "statten", spike_density: float = DEFAULT_DENSITY, weight_bits: int = 8,
                  out_bits: int = 8) -> Trace:
    """A shape-only trace of the Spike-driven Transformer with STAtten (or SDT) attention."""
    T, c = timesteps, chunk_size
    if dim % heads or dim % 8:
        raise ValueError(f"dim {dim} must be a multiple of heads {heads} and of 8")
    if T % c:
        raise ValueError(f"timesteps {T} must be a multiple of chunk_size {c}")
    if attention not in ("statten", "sdt"):
        raise ValueError(f"attention must be 'statten' or 'sdt', got {attention!r}")
    if len(pooling_stat) != 4 or set(pooling_stat) - {"0", "1"}:
        raise ValueError(f"pooling_stat must be four 0/1 characters, got {pooling_stat!r}")
    grid = image // 2 ** pooling_stat.count("1")
    N, D, d = grid * grid, dim, dim // heads
    cfg = dict(layers=layers, dim=dim, heads=heads, image=image, pooling_stat=pooling_stat, classes=classes,
               tokens=N, chunk_size=c, attention=attention, spike_density=spike_density,
               params=parameter_count(layers=layers, dim=dim, heads=heads, classes=classes, in_chans=in_chans,
                                      mlp_ratio=mlp_ratio))
    header = Header(model=model, source=SOURCE, dataset="shapes only",
                    input_description=f"{image}x{image}x{in_chans} image, direct encoding, {N} tokens, T={T}",
                    timesteps=T, config=cfg,
                    provenance=Provenance(weights="shape_only", inputs="none",
                                          notes=f"shapes only; every spike operand has the assumed density "
                                                f"{spike_density}; weights dense {weight_bits}-bit"))
    net = ShapeNet(header, weight_bits=weight_bits, out_bits=out_bits)
    lif = lambda op_id, x, **kw: net.lif(op_id, x, density=spike_density, leak=0.5, **kw)  # noqa: E731  (tau 2)

    # --- stem ------------------------------------------------------------------------------
    x = net.input([in_chans, image, image], bits=8)
    chans = [D // 8, D // 4, D // 2, D]
    feat = None
    for i, ch in enumerate(chans):
        tags = {"block": "stem", **({"encoding_layer": True} if i == 0 else {})}
        x = net.conv(f"sps.conv{i}", x, ch, 3, tags=tags)
        if i == 3:
            if pooling_stat[3] == "1":
                x = net.pool(f"sps.pool{i}", x, 3, stride=2, pad=1, tags={"block": "stem"})
            feat = x
        x = lif(f"sps.lif{i}", x, tags={"block": "stem"})
        if i < 3 and pooling_stat[i] == "1":
            x = net.pool(f"sps.pool{i}", x, 3, stride=2, pad=1, tags={"block": "stem"})
    x = net.conv("sps.rpe", x, D, 3, tags={"block": "stem"})
    x = net.add("sps.res", x, feat, tags={"block": "stem"})

    # --- blocks -------------------------------------------------------------------------------
    count_bits = math.ceil(math.log2(c * N + 1))
    for i in range(layers):
        t = {"block": f"b{i}"}
        s = lif(f"b{i}.attn.lif_in", x, tags={**t, "part": "attn"})
        q = lif(f"b{i}.attn.q_lif", net.conv(f"b{i}.attn.q", s, D, 1, tags={**t, "part": "attn"}),
                tags={**t, "part": "attn"})
        k = lif(f"b{i}.attn.k_lif", net.conv(f"b{i}.attn.k", s, D, 1, tags={**t, "part": "attn"}),
                tags={**t, "part": "attn"})
        v = lif(f"b{i}.attn.v_lif", net.conv(f"b{i}.attn.v", s, D, 1, tags={**t, "part": "attn"}),
                tags={**t, "part": "attn"})
        if attention == "statten":
            outs = []
            for j in range(T // c):
                ct = {**t, "part": "attn", "chunk": j, "chunk_size": c, "t_start": j * c}
                kv = net.matmul(f"b{i}.attn.kv.c{j}", Act(k.op, (heads, d, N), Role.spike, 1, k.density, c),
                                Act(v.op, (heads, N, d), Role.spike, 1, v.density, c), heads=heads, M=d, K=N, N=d,
                                timesteps=c, out_bits=count_bits, tags={**ct, "reduce": "timesteps"})
                kv_w = Act(kv.op, (heads, d, d), Role.dynamic_weight, count_bits, 1.0, c)
                outs.append(net.matmul(f"b{i}.attn.qa.c{j}", Act(q.op, (heads, N, d), Role.spike, 1, q.density, c),
                                       kv_w, heads=heads, M=N, K=d, N=d, timesteps=c,
                                       out_bits=math.ceil(math.log2(d * c * N + 1)), tags=ct))
            a = Act(outs[0].op, (D, grid, grid), Role.activation, outs[0].bits, 1.0, T)
            a = lif(f"b{i}.attn.lif_attn", a, threshold=0.5, inputs=outs,
                    tags={**t, "part": "attn", "input_scale": 1.0 / grid})
        else:   # SDT: K AND V, sum over tokens, LIF, mask Q
            kv = net.vector("elementwise", f"b{i}.attn.k_and_v", k, inputs=[k, v], function="and",
                            tags={**t, "part": "attn"})
            col = net.vector("elementwise", f"b{i}.attn.colsum", kv, function="column_sum",
                             tags={**t, "part": "attn"})
            kvs = lif(f"b{i}.attn.kv_lif", Act(col.op, (D,), Role.activation, 8, 1.0, T), threshold=0.5,
                      tags={**t, "part": "attn"})
            a = net.vector("elementwise", f"b{i}.attn.mask_q", q, inputs=[q, kvs], function="and",
                           tags={**t, "part": "attn"})
            a = Act(a.op, (D, grid, grid), Role.spike, 1, spike_density, T)
        x = net.add(f"b{i}.attn.res", net.conv(f"b{i}.attn.proj", a, D, 1, tags={**t, "part": "attn"}), x,
                    tags={**t, "part": "attn"})
        h = lif(f"b{i}.mlp.lif1", x, tags={**t, "part": "mlp"})
        h = lif(f"b{i}.mlp.lif2", net.conv(f"b{i}.mlp.fc1", h, D * mlp_ratio, 1, tags={**t, "part": "mlp"}),
                tags={**t, "part": "mlp"})
        x = net.add(f"b{i}.mlp.res", net.conv(f"b{i}.mlp.fc2", h, D, 1, tags={**t, "part": "mlp"}), x,
                    tags={**t, "part": "mlp"})

    # --- head: mean over tokens, LIF, classifier (averaged over T) ------------------------------
    x = net.pool("head.mean", x, grid, mode="avg", tags={"block": "head"})
    x = lif("head.lif", x, tags={"block": "head"})
    net.linear("head.fc", Act(x.op, (D,), Role.spike, 1, x.density, T), classes, tags={"block": "head"})
    ops = net.b.ops
    return net.build({"params": float(cfg["params"]),
                      "attention_macs": float(sum(o.macs * o.timesteps for o in ops if o.tags.get("chunk") is not None)),
                      "macs_per_timestep": sum(o.macs * o.timesteps for o in ops) / T})


def preset_trace(name: str, **overrides) -> Trace:
    if name not in PRESETS:
        raise KeyError(f"unknown STAtten preset {name!r}; known: {', '.join(PRESETS)}")
    return statten_trace(model=f"statten-{name}", **{**PRESETS[name], **overrides})


def main(argv=None) -> int:
    from archsim.cli.common import say_wrote

    p = argparse.ArgumentParser(description="write a shape-only STAtten trace")
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("-o", "--out", required=True, type=Path)
    p.add_argument("--chunk-size", type=int, default=None)
    p.add_argument("--attention", choices=("statten", "sdt"), default="statten")
    p.add_argument("--spike-density", type=float, default=DEFAULT_DENSITY)
    args = p.parse_args(argv)
    over = {"attention": args.attention, "spike_density": args.spike_density}
    if args.chunk_size:
        over["chunk_size"] = args.chunk_size
    trace = preset_trace(args.preset, **over)
    trace.save(args.out)
    say_wrote(args.out, f"{len(trace.ops)} ops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
