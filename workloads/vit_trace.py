"""Export a PyTorch :class:`~workloads.models.vit.ViT` run on real images as an archsim trace.

The op list comes from the torch-free shape generator (:func:`archsim.generators.shapes.transformers.add_vit`),
so an exported trace and a shape-only trace of the same configuration have the same ops, ids and
loop bounds (a test checks it); forward hooks on the model's modules supply the real tensors:

* Q/K/V (``e{i}.qkv``), output projection, transformation block, MLP, patch embedding / stem and
  head weights: ``static_weight``, stored as symmetric per-tensor int8 codes (BatchNorm folded
  into the stem convolutions), with their sparsity;
* K^T (``b`` of ``e{i}.qk``) and V (``b`` of ``e{i}.av``) of every head: ``dynamic_weight`` (written
  into crossbars for every input), with a value histogram and density over the traced images;
* every GEMM input: its density.

The trace describes one image (``batch`` 1, as the shape traces do); its statistics are taken
over all ``images`` given. Header: ``provenance.weights = trained`` (or what the caller says),
``inputs = real``, the measured ``metrics`` (e.g. accuracy).

    trace = export_vit_trace(model, x_test[:32], metrics={"accuracy_top1": 0.86},
                             dataset="fashion-mnist test[0:32]")
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.schema import Header, Histogram, Provenance, Sparsity
from archsim.generators.shapes.transformers import add_vit
from workloads.models.vit import ViT


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float32).numpy()


def int8_codes(w: np.ndarray) -> np.ndarray:
    """Symmetric per-tensor 8-bit codes of a weight (what a crossbar stores)."""
    peak = float(np.abs(w).max())
    scale = peak / 127 if peak > 0 else 1.0
    return np.clip(np.rint(w / scale), -127, 127).astype(np.int8)


def value_histogram(x: np.ndarray, bins: int = 64) -> Histogram:
    counts, edges = np.histogram(np.asarray(x, dtype=np.float64).ravel(), bins=bins)
    return Histogram(edges=[float(e) for e in edges], counts=[int(c) for c in counts])


def _folded_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> np.ndarray:
    w = _np(conv.weight)
    if bn is None:
        return w
    gain = _np(bn.weight) / np.sqrt(_np(bn.running_var) + bn.eps)
    return w * gain[:, None, None, None]


def module_ops(model: ViT) -> dict[str, nn.Module]:
    """Trace op id -> the module whose forward computes it."""
    ops: dict[str, nn.Module] = {}
    if model.cfg.stem == "conv":
        for k in (1, 2, 3):
            ops[f"stem.conv{k}"] = getattr(model.stem, f"conv{k}")
        ops["embed"] = model.stem.patch_embed
    else:
        ops["embed"] = model.patch_embed
    for i, blk in enumerate(model.blocks):
        e = f"e{i}"
        if blk.reuse_source is None:
            for name in ("qkv", "qk", "av", "proj"):
                ops[f"{e}.{name}"] = getattr(blk.attn, name)
        else:
            ops[f"{e}.tb.fc"] = blk.tb.fc
        ops[f"{e}.fc1"], ops[f"{e}.fc2"] = blk.mlp.fc1, blk.mlp.fc2
    ops["head.fc"] = model.head
    if model.cfg.aux_head:
        ops["head.aux"] = model.aux_head
    return ops


@torch.no_grad()
def capture(model: ViT, images: torch.Tensor) -> dict[str, tuple]:
    """Op id -> (inputs, output) of its module on ``images`` (one forward pass)."""
    model.eval()
    seen: dict[str, tuple] = {}
    handles = [m.register_forward_hook(lambda mod, args, out, op_id=op_id: seen.__setitem__(op_id, (args, out)))
               for op_id, m in module_ops(model).items()]
    try:
        model(images)
    finally:
        for h in handles:
            h.remove()
    return seen


def export_vit_trace(model: ViT, images: torch.Tensor, *, model_name: str = "vit", dataset: str = "",
                     metrics: dict[str, float] | None = None, weights: str = "trained", bits: int = 8,
                     bins: int = 64, notes: str = "") -> Trace:
    """The trace of ``model`` with statistics from ``images`` (``[N, C, H, W]``)."""
    cfg = model.cfg
    seen = capture(model, images)
    stem = cfg.stem
    modules = module_ops(model)

    def stem_weight(op_id: str) -> np.ndarray:
        if op_id.startswith("stem.conv"):
            k = op_id[-1]
            return _folded_conv(getattr(model.stem, f"conv{k}"), getattr(model.stem, f"bn{k}"))
        return _folded_conv(modules[op_id], None)

    def operand_data(op_id: str, name: str):
        if op_id not in seen:
            return None
        args, _ = seen[op_id]
        module = modules[op_id]
        if name == "weight":
            if isinstance(module, nn.Conv2d) and not (op_id == "embed" and stem == "patch"):
                w = stem_weight(op_id)
            else:
                w = _np(module.weight).reshape(module.weight.shape[0], -1)   # patch embed: [D, C*p*p]
            return {"data": int8_codes(w)}
        if name == "input":
            x = args[0]
            if op_id == "embed" and stem == "patch":                          # the patches, unfolded
                x = nn.functional.unfold(x, cfg.patch_size, stride=cfg.patch_size).transpose(1, 2)
            return {"data": _np(x), "store": False}
        if name == "a":
            return {"data": _np(args[0]), "store": False}
        if name == "b":                                                        # K^T or V, every head
            v = _np(args[1])
            return {"data": v, "store": False, "histogram": value_histogram(v, bins),
                    "sparsity": Sparsity(density=float((v != 0).mean()))}
        return None

    provenance = Provenance(weights=weights, inputs="real",
                            notes=notes or f"statistics (densities, K/V histograms) over {len(images)} real images; "
                                           "weights stored as symmetric per-tensor int8 codes")
    config = {**{k: v for k, v in asdict(cfg).items() if k != "reuse"}, "bits": bits, "tokens": cfg.tokens,
              "statistics_images": len(images)}
    reuse = cfg.reuse_map
    if reuse:
        config["reuse"] = {str(i): s for i, s in reuse.items()}
        config["reuse_encoders"] = len(reuse)
    header = Header(model=model_name, source="workloads.vit_trace (PyTorch forward hooks)", dataset=dataset,
                    input_description=f"{cfg.image_size}x{cfg.image_size} {cfg.in_channels}-channel image, "
                                      f"{cfg.tokens} tokens", provenance=provenance,
                    metrics=dict(metrics or {}), config=config)
    b = TraceBuilder(header)
    add_vit(b, layers=cfg.depth, dim=cfg.dim, heads=cfg.heads, mlp_ratio=cfg.mlp_dim / cfg.dim,
            image=cfg.image_size, patch=cfg.patch_size, in_chans=cfg.in_channels, classes=cfg.num_classes,
            bits=bits, stem=stem, stem_channels=cfg.stem_channels, aux_head=cfg.aux_head, reuse=reuse,
            operand_data=operand_data)
    trace = b.build()
    for op in trace.ops:       # the stored weights must be what the generator's shapes say
        if op.has_operand("weight") and op.operand("weight").tensor is not None:
            w = op.operand("weight")
            if list(trace.tensor(w.tensor).shape) != list(w.shape):
                raise ValueError(f"op {op.id}: weight {list(trace.tensor(w.tensor).shape)} does not match the "
                                 f"trace shape {w.shape}")
    return trace
