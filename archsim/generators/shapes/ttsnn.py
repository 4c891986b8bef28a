"""TT-SNN (Lee et al., DATE 2024): spiking ResNets whose 3x3 convolutions are tensor-train
decomposed, as shape-only traces, and their parameter and MAC counts. See docs/workloads/ttsnn.md.

**Backbone** (MS-ResNet, as the authors' code builds it): a 3x3 conv on the input (repeated at
every timestep), then four stages of 64/128/256/512 channels of BasicBlocks. A block keeps a
real-valued residual stream ``x``: ``LIF -> conv A (3x3, stride) -> LIF -> conv B (3x3)``, added to
``x`` or, when the shape changes, to a strided 1x1 conv of ``x`` (a multi-bit input: the
``shortcut``). After the last stage: LIF, global average pool, mean over T, the classifier (once).
LIF: threshold 0.5, decay 0.25, reset by multiplying with (1 - spike) (the authors' code).

**TT layer.** Each conv A / conv B becomes four cores of rank ``r``: G1 1x1 Cin->r on the
**spikes**, G2 3x1 r->r, G3 1x3 r->r, G4 1x1 r->Cout, all on **multi-bit** intermediates
(``act_bits``). Schedules (tag ``tt_schedule``):

* ``stt``: G1 -> G2 -> G3 -> G4;
* ``ptt``: G2 and G3 both read G1's output (tags ``branch: g2`` / ``g3``), an ``add`` averages
  them, then G4: the two branches may run side by side;
* ``htt``: PTT for the first ``T // 2`` timesteps (ops with ``timesteps = T // 2``, tag
  ``half: full``), G1 -> G4 only for the rest (``half: reduced``): the authors hard-wire t = 0, 1
  full and t = 2, 3 reduced for T = 4.

Downsampling (the first block of stages 2-4): ``downsample="stride"`` puts the stride in G1, so
every core runs at the output resolution (the layout of the SATA_Sim workloads the published
ranks come with); ``"pool"`` runs the cores at the input resolution and max-pools G4's output
2x2 (the authors' released code).

Ranks: ResNet-34 uses the 32 ranks of the SATA_Sim TT-SNN workload (``RANKS["resnet34"]``);
ResNet-18 the ranks of the first two blocks of each ResNet-34 stage (:func:`default_ranks`)
unless given; the small trained configuration estimates its own by VBMF (``workloads.papers.ttsnn.vbmf``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from archsim.trace.io import Trace
from archsim.trace.schema import Header, Provenance, Role
from archsim.generators.shapes.layers import Act, ShapeNet

SOURCE = ("TT-SNN (Lee et al., DATE 2024, arXiv 2401.08001); MS-ResNet layout of donghyunli/TT-SNN (b5cc190); "
          "ResNet-34 ranks from RuokaiYin/SATA_Sim (d447058) inference-energy-cal/workloads/tt-snn/workload_stt_res34.yaml")

BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
CHANNELS = (64, 128, 256, 512)
RANKS = {
    # per decomposed conv in layer order (conv A, conv B of each block), SATA_Sim's ResNet-34 workload
    "resnet34": (24, 23, 22, 17, 16, 12, 22, 31, 25, 25, 24, 21, 20, 19, 48, 79, 64, 69, 63, 69, 60, 65,
                 63, 63, 62, 58, 121, 170, 173, 147, 161, 108),
}
PRESETS = {
    # CIFAR-10, T = 4 (the paper's CIFAR runs); N-Caltech101 event frames resized to 48x48, 2
    # polarities, 6 time bins (research/workloads.md 2.7)
    "resnet18_cifar10": dict(depth=18, image=32, in_chans=3, classes=10, timesteps=4),
    "resnet34_ncaltech101": dict(depth=34, image=48, in_chans=2, classes=101, timesteps=6),
}
SCHEDULES = ("baseline", "stt", "ptt", "htt")
# SATA_Sim's TT-SNN workloads assume a spike sparsity of 0.9 (workload YAMLs, "sparsity: 0.9")
DEFAULT_DENSITY = 0.1


def tt_trace(*, model: str = "ttsnn", depth: int, image: int, in_chans: int, classes: int, timesteps: int,
             schedule: str = "stt", ranks: list[int] | tuple[int, ...] | None = None, downsample: str = "stride",
             spike_density: float = DEFAULT_DENSITY, act_bits: int = 8, weight_bits: int = 8) -> Trace:
    """A shape-only spiking ResNet-``depth`` trace, baseline or tensor-train decomposed."""
    if depth not in BLOCKS:
        raise ValueError(f"depth must be one of {sorted(BLOCKS)}, got {depth}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if downsample not in ("stride", "pool"):
        raise ValueError(f"downsample must be 'stride' or 'pool', got {downsample!r}")
    n_convs = 2 * sum(BLOCKS[depth])
    if schedule != "baseline":
        if ranks is None:
            raise ValueError(f"a TT schedule needs ranks: {n_convs} of them (conv A, conv B of each block)")
        if len(ranks) != n_convs or min(ranks) < 1:
            raise ValueError(f"ResNet-{depth} has {n_convs} decomposed convs, got {len(ranks)} ranks "
                             f"(each >= 1): {list(ranks)}")
    T = timesteps
    half = T // 2
    cfg = dict(depth=depth, image=image, in_chans=in_chans, classes=classes, schedule=schedule,
               ranks=list(ranks) if ranks is not None else None, downsample=downsample,
               spike_density=spike_density, act_bits=act_bits)
    header = Header(model=model, source=SOURCE, dataset="shapes only",
                    input_description=f"{image}x{image}x{in_chans} input repeated over T={T}", timesteps=T,
                    config=cfg, provenance=Provenance(weights="shape_only", inputs="none",
                                                      notes=f"shapes only; spike operands at the assumed density "
                                                            f"{spike_density} (SATA_Sim's 0.9 sparsity)"))
    net = ShapeNet(header, weight_bits=weight_bits, out_bits=act_bits)
    lif = lambda op_id, x, **kw: net.lif(op_id, x, density=spike_density, threshold=0.5, leak=0.25,  # noqa: E731
                                         reset="multiply", **kw)

    def decomposed(name: str, s: Act, cout: int, stride: int, rank: int, tags: dict) -> list[Act]:
        """The TT cores of one 3x3 conv on spikes ``s``; returns the op outputs that feed on."""
        t = {**tags, "tt_rank": rank, "tt_schedule": schedule}
        pool = downsample == "pool" and stride > 1
        g1 = net.conv(f"{name}.g1", s, rank, 1, stride=1 if pool else stride, tags={**t, "tt_core": "g1"})
        if schedule == "stt":
            g = net.conv(f"{name}.g2", g1, rank, 3, 1, tags={**t, "tt_core": "g2"})
            g = net.conv(f"{name}.g3", g, rank, 1, 3, tags={**t, "tt_core": "g3"})
            outs = [net.conv(f"{name}.g4", g, cout, 1, tags={**t, "tt_core": "g4"})]
        else:
            Tf = half if schedule == "htt" else T
            ht = {"half": "full"} if schedule == "htt" else {}
            g2 = net.conv(f"{name}.g2", g1, rank, 3, 1, timesteps=Tf, tags={**t, **ht, "tt_core": "g2", "branch": "g2"})
            g3 = net.conv(f"{name}.g3", g1, rank, 1, 3, timesteps=Tf, tags={**t, **ht, "tt_core": "g3", "branch": "g3"})
            avg = net.add(f"{name}.avg", g2, g3, timesteps=Tf, tags={**t, **ht, "tt_core": "avg"})
            outs = [net.conv(f"{name}.g4", avg, cout, 1, timesteps=Tf, tags={**t, **ht, "tt_core": "g4"})]
            if schedule == "htt" and T - half:
                outs.append(net.conv(f"{name}.g4r", g1, cout, 1, timesteps=T - half, shared_weight=True,
                                     tags={**t, "half": "reduced", "tt_core": "g4", "weight_of": f"{name}.g4"}))
        if pool:
            outs = [net.pool(f"{o.op}.pool", o, 2, tags={**t, "tt_core": "pool"}) for o in outs]
        return outs

    x = net.input([in_chans, image, image], bits=8)
    x = net.conv("conv1", x, CHANNELS[0], 3, tags={"stage": 0, "encoding_layer": True})
    rank_iter = iter(ranks or ())
    cin = CHANNELS[0]
    for si, (n_blocks, cout) in enumerate(zip(BLOCKS[depth], CHANNELS)):
        for bi in range(n_blocks):
            stride = 2 if (si > 0 and bi == 0) else 1
            name = f"s{si + 1}.b{bi}"
            tags = {"stage": si + 1, "block": name}
            ins = x
            for part, (c_out, st) in (("a", (cout, stride)), ("b", (cout, 1))):
                s = lif(f"{name}.lif_{part}", ins if part == "a" else h, tags=tags, timesteps=T,
                        inputs=None if part == "a" else h_ops)
                if schedule == "baseline":
                    h = net.conv(f"{name}.conv_{part}", s, c_out, 3, stride=st, tags={**tags, "conv": part})
                    h_ops = [h]
                else:
                    h_ops = decomposed(f"{name}.conv_{part}", s, c_out, st, next(rank_iter), {**tags, "conv": part})
                    h = h_ops[0]
            if stride > 1 or cin != cout:
                sc = net.conv(f"{name}.shortcut", x, cout, 1, stride=stride, tags={**tags, "shortcut": True})
            else:
                sc = x
            res = Act(h.op, h.shape, Role.activation, act_bits, 1.0, T)
            x = net.add(f"{name}.res", res, sc, inputs=[*h_ops, sc], tags=tags)   # HTT: both halves of G4
            cin = cout
    s = lif("head.lif", x, tags={"stage": 5, "part": "head"})
    s = net.pool("head.avgpool", s, s.shape[1], mode="avg", tags={"stage": 5, "part": "head"})
    net.linear("head.fc", Act(s.op, (CHANNELS[-1],), Role.activation, act_bits, 1.0, 1), classes, timesteps=1,
               tags={"stage": 5, "part": "head"})
    trace = net.build()
    every, layers = counts(trace), counts(trace, shortcuts=False)
    return net.build({"params": every["params"], "macs_per_timestep": every["macs_per_timestep"],
                      "params_no_shortcut": layers["params"], "macs_per_timestep_no_shortcut": layers["macs_per_timestep"]})


def preset_trace(name: str, schedule: str = "stt", **overrides) -> Trace:
    if name not in PRESETS:
        raise KeyError(f"unknown TT-SNN preset {name!r}; known: {', '.join(PRESETS)}")
    cfg = {**PRESETS[name], **overrides}
    if schedule != "baseline" and cfg.get("ranks") is None:
        cfg["ranks"] = default_ranks(cfg["depth"])
    return tt_trace(model=f"ttsnn-{name}-{schedule}", schedule=schedule, **cfg)


def default_ranks(depth: int) -> tuple[int, ...]:
    """ResNet-34: the published workload's ranks. ResNet-18: no ranks are published; we take the
    ranks of the first two blocks of each ResNet-34 stage (same channels, same position in the
    stage). VBMF needs trained weights (on a freshly initialised layer it finds rank 0), which
    exist only for the small trained configuration (``workloads.papers.ttsnn.model``)."""
    r34 = RANKS["resnet34"]
    if depth == 34:
        return r34
    out, i = [], 0
    for n34, n in zip(BLOCKS[34], BLOCKS[depth]):
        out += r34[i:i + 2 * n]
        i += 2 * n34
    return tuple(out)


def counts(trace: Trace, *, shortcuts: bool = True) -> dict[str, float]:
    """Weights and MACs per timestep of a trace's GEMM ops (``shortcuts=False``: without the 1x1
    shortcut convs, as the SATA_Sim workloads list the layers)."""
    ops = [o for o in trace.ops if o.macs and (shortcuts or not o.tags.get("shortcut"))]
    T = trace.header.timesteps
    params = sum(o.operand("weight").numel for o in ops if o.has_operand("weight") and "weight_of" not in o.tags)
    return {"params": float(params), "macs_per_timestep": sum(o.macs * o.timesteps for o in ops) / T}


def main(argv=None) -> int:
    from archsim.cli.common import say_wrote

    p = argparse.ArgumentParser(description="write a shape-only TT-SNN trace")
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("schedule", choices=SCHEDULES)
    p.add_argument("-o", "--out", required=True, type=Path)
    p.add_argument("--downsample", choices=("stride", "pool"), default="stride")
    p.add_argument("--spike-density", type=float, default=DEFAULT_DENSITY)
    args = p.parse_args(argv)
    trace = preset_trace(args.preset, args.schedule, downsample=args.downsample, spike_density=args.spike_density)
    trace.save(args.out)
    say_wrote(args.out, f"{len(trace.ops)} ops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
