"""Export a PyTorch :class:`~workloads.models.vit.ViT` run on real images as an archsim trace, with
the graph capture (:func:`workloads.trace`) and these per-module rules (:mod:`workloads.capture.rules`),
which give the trace the ops, ids, loop bounds and tags of the torch-free shape generator
(:func:`archsim.generators.shapes.transformers.add_vit`): an exported trace and a shape-only
trace of the same configuration have the same ops (the export checks it and fails otherwise).

* Q/K/V (``e{i}.qkv``), output projection, transformation block, MLP, patch embedding / stem and
  head weights: ``static_weight``, stored as symmetric per-tensor int8 codes (BatchNorm folded
  into the stem convolutions), with their sparsity;
* K^T (``b`` of ``e{i}.qk``) and V (``b`` of ``e{i}.av``) of every head: ``dynamic_weight`` (written
  into crossbars for every input), with a value histogram and density over the traced images;
* every GEMM input: its density; LayerNorm, softmax, GELU, ReLU and the residual adds are
  described by their sizes alone, as the shape generator does;
* work the shape generator folds away is not written: the class token's concatenation and the
  position embedding's add, the query scaling (into Q.K^T), the BatchNorms (into the stem
  convolutions), the token-labelling head's bias add; that head's max-and-add is one
  ``head.combine`` op. Any other op is an error (the model is not the ViT these rules know).

The trace describes one image (``batch`` 1, as the shape traces do: ``per_sample``); its
statistics are taken over all ``images`` given. Header: ``provenance.weights = trained`` (or what
the caller says), ``inputs = real``, the measured ``metrics`` (e.g. accuracy).

    trace = export_vit_trace(model, x_test[:32], metrics={"accuracy_top1": 0.86},
                             dataset="fashion-mnist test[0:32]")
"""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Callable

import numpy as np
import torch
from torch import nn

from archsim.generators.shapes.transformers import vit_trace
from archsim.trace.io import Trace
from archsim.trace.schema import DType, Histogram, Role, Sparsity
from workloads.capture import Call, ModuleRule
from workloads.capture.aten_ops import Emit, Operand
from workloads.models.vit import ViT

Edit = Callable[[Call, Emit], "Emit | None"]


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


# ---- operands as the shape generator describes them (bits wide, outputs by shape alone)
def _act(o: Operand, bits: int, unsigned: bool = False) -> Operand:
    return Operand.described(role=Role.activation, data=o.data, shape=o.shape, bits=bits,
                             dtype=DType.uint if unsigned else DType.int, store=False)


def _out(o: Operand, bits: int) -> Operand:
    return Operand.described(role=Role.activation, shape=o.shape, bits=bits, dtype=DType.int)


def _codes(w: np.ndarray, bits: int) -> Operand:
    return Operand.described(role=Role.static_weight, data=int8_codes(w), bits=bits, dtype=DType.int)


def _written(o: Operand, bits: int, bins: int) -> Operand:
    """K^T or V of every head: written for every input; its values over all images."""
    v = o.data
    return Operand.described(role=Role.dynamic_weight, data=v, shape=o.shape, bits=bits, dtype=DType.int,
                             store=False, histogram=value_histogram(v, bins),
                             sparsity=Sparsity(density=float((v != 0).mean())))


# ---- edits: which of a module's ops becomes which shape-generator op
def _by_order(table: dict[tuple[str, int], Edit | None]) -> Edit:
    """An edit by the module's ``nth`` op of each aten op: ``table[(aten, nth)]`` edits it (None:
    not written); an op the table lacks is an error."""
    def edit(call: Call, e: Emit) -> Emit | None:
        key = (call.view.node.name, call.nth)
        if key not in table:
            raise ValueError(f"ViT export: {call.name} ran {key[0]} (#{key[1] + 1}), which the shape generator's "
                             f"ViT has no op for; known: {sorted(table)}")
        f = table[key]
        return None if f is None else f(call, e)
    return edit


def _bare(op_id: str, expect: str, tags: dict, **change) -> Edit:
    """The table's ``expect`` op written as ``op_id``, described by its loop bounds alone
    (``change``: other fields to replace, e.g. its kind)."""
    def edit(call: Call, e: Emit) -> Emit:
        if e.kind != expect:
            raise ValueError(f"ViT export: {call.name} gave a {e.kind} op where the shape generator has {op_id}")
        return replace(e, id=op_id, operands=[], output=None, tags=dict(tags), **change)
    return edit


def _linear(op_id: str, tags: dict, bits: int) -> Edit:
    def edit(call: Call, e: Emit) -> Emit:
        (_, x), _ = e.operands
        w = _codes(_np(call.module.weight), bits)
        return replace(e, id=op_id, operands=[("input", _act(x, bits)), ("weight", w)], output=_out(e.output, bits),
                       tags=dict(tags))
    # a Linear on [B, N, D] runs mm + add: the bias starts the accumulator, as with addmm (no op)
    return _by_order({("addmm", 0): edit, ("mm", 0): edit, ("add", 0): None})


def _conv(op_id: str, tags: dict, bits: int, weight: np.ndarray, unsigned: bool) -> Edit:
    def edit(call: Call, e: Emit) -> Emit:
        (_, x), _ = e.operands
        return replace(e, id=op_id, operands=[("input", _act(x, bits, unsigned)), ("weight", _codes(weight, bits))],
                       output=_out(e.output, bits), tags=dict(tags))
    return _by_order({("convolution", 0): edit})


def _patch_embed(cfg, tags: dict, bits: int) -> Edit:
    """The patch stem's convolution (kernel = stride = patch) as the linear layer over the
    unfolded patches it is."""
    def edit(call: Call, e: Emit) -> Emit:
        (_, x), _ = e.operands
        p, w = cfg.patch_size, call.module.weight
        images = np.asarray(x.data).reshape(-1, *x.shape[1:])                      # [N, C, H, W]
        patches = torch.nn.functional.unfold(torch.from_numpy(images), p, stride=p).transpose(1, 2)
        inp = Operand.described(role=Role.activation, data=patches.numpy(), shape=list(patches.shape[1:]), bits=bits,
                                dtype=DType.int, store=False)
        n, k = patches.shape[1:]
        return Emit("linear", dict(tokens=n, in_features=k, out_features=w.shape[0]),
                    [("input", inp), ("weight", _codes(_np(w).reshape(w.shape[0], -1), bits))],
                    Operand.described(role=Role.activation, shape=[n, w.shape[0]], bits=bits, dtype=DType.int),
                    dict(tags), id="embed")
    return _by_order({("convolution", 0): edit})


def _matmul(op_id: str, tags: dict, bits: int, bins: int, unsigned_a: bool) -> Edit:
    def edit(call: Call, e: Emit) -> Emit:
        (_, a), (_, b) = e.operands
        return replace(e, id=op_id, operands=[("a", _act(a, bits, unsigned_a)), ("b", _written(b, bits, bins))],
                       output=None, tags=dict(tags))
    return _by_order({("bmm", 0): edit})


def _residual(op_id: str, tags: dict) -> Edit:
    """``x + branch(x)``, its edges listed branch first (as the shape generator does: a
    hardware model that places an op with its first producer places the add with the branch)."""
    def edit(call: Call, e: Emit) -> Emit:
        return replace(_bare(op_id, "add", tags)(call, e), inputs=list(reversed(call.inputs)))
    return edit


def vit_rules(model: ViT, bits: int = 8, bins: int = 64) -> dict[str, ModuleRule]:
    """The capture rules of ``model`` (module path -> rule) that make its trace the shape
    generator's ViT: op ids, loop bounds and tags of :func:`add_vit`, int8 weight codes."""
    cfg = model.cfg
    rules: dict[str, Edit] = {}
    te = {"block": "embed"}
    if cfg.stem == "conv":
        for k in (1, 2, 3):
            conv, bn = getattr(model.stem, f"conv{k}"), getattr(model.stem, f"bn{k}")
            tags = {**te, "imc.conv_mapping": "unrolled"} if k == 1 else te
            rules[f"stem.conv{k}"] = _conv(f"stem.conv{k}", tags, bits, _folded_conv(conv, bn), unsigned=k > 1)
            rules[f"stem.bn{k}"] = _by_order({(name, 0): None for name in (   # folded into stem.conv{k}
                "_native_batch_norm_legit_no_training", "native_batch_norm", "batch_norm")})
        rules["stem.relu"] = _by_order({("relu", k - 1): _bare(f"stem.relu{k}", "elementwise", te) for k in (1, 2, 3)})
        rules["stem.patch_embed"] = _conv("embed", te, bits, _folded_conv(model.stem.patch_embed, None), unsigned=True)
    else:
        rules["patch_embed"] = _patch_embed(cfg, te, bits)
    for i, blk in enumerate(model.blocks):
        e, t = f"e{i}", {"encoder": i}
        p = f"blocks.{i}"
        tm = {**t, "block": "mlp"}
        if blk.reuse_source is None:
            ta = {**t, "block": "attn"}
            rules[f"{p}.norm1"] = _bare(f"{e}.ln1", "layernorm", ta)
            rules[f"{p}.attn.qkv"] = _linear(f"{e}.qkv", ta, bits)
            rules[f"{p}.attn.qk"] = _matmul(f"{e}.qk", {**ta, "operand": "k_t"}, bits, bins, unsigned_a=False)
            rules[f"{p}.attn.softmax"] = _bare(f"{e}.softmax", "softmax", ta)
            rules[f"{p}.attn.av"] = _matmul(f"{e}.av", {**ta, "operand": "v"}, bits, bins, unsigned_a=True)
            rules[f"{p}.attn.proj"] = _linear(f"{e}.proj", ta, bits)
            # the query scaling folds into Q.K^T (the shape generator has no op for it)
            rules[p] = _by_order({("mul", 0): None, ("add", 0): _residual(f"{e}.res1", ta),
                                  ("add", 1): _residual(f"{e}.res2", tm)})
        else:
            tb = {**t, "block": "tb", "reuse_source": blk.reuse_source}
            rules[f"{p}.tb.ln"] = _bare(f"{e}.tb.ln", "layernorm", tb)
            rules[f"{p}.tb.fc"] = _linear(f"{e}.tb.fc", tb, bits)
            rules[f"{p}.tb.act"] = _bare(f"{e}.tb.gelu", "gelu", tb)
            rules[p] = _by_order({("add", 0): _residual(f"{e}.res1", {**t, "block": "tb"}),
                                  ("add", 1): _residual(f"{e}.res2", tm)})
        rules[f"{p}.norm2"] = _bare(f"{e}.ln2", "layernorm", tm)
        rules[f"{p}.mlp.fc1"] = _linear(f"{e}.fc1", tm, bits)
        rules[f"{p}.mlp.act"] = _bare(f"{e}.gelu", "gelu", tm)
        rules[f"{p}.mlp.fc2"] = _linear(f"{e}.fc2", tm, bits)
    th = {"block": "head"}
    rules["norm"] = _bare("head.ln", "layernorm", th)
    rules["head"] = _linear("head.fc", th, bits)
    # the model's own ops: the class token and position embedding (no compute in the shape
    # generator's trace), and with the token-labelling head its max over the tokens, halving and add
    own: dict[tuple[str, int], Edit | None] = {("cat", 0): None, ("add", 0): None}
    if cfg.aux_head:
        rules["aux_head"] = _linear("head.aux", th, bits)
        combine = dict(kind="elementwise", fields=dict(elements=cfg.patches * cfg.num_classes, function="max_add",
                                                       ops_per_element=1.0))
        own.update({("max", 0): None, ("mul", 0): None, ("add", 1): _bare("head.combine", "add", th, **combine)})
    rules[""] = _by_order(own)
    return {path: ModuleRule(edit=edit) for path, edit in rules.items()}


def _structure(trace: Trace) -> list[tuple]:
    """What the shape generator fixes: ids, kinds, loop bounds (MACs), edges, operand shapes."""
    return [(op.id, op.kind, op.macs, tuple(op.inputs), tuple((o.name, tuple(o.shape)) for o in op.operands))
            for op in trace.ops]


def shape_trace(cfg, bits: int = 8) -> Trace:
    """The shape generator's trace of ``cfg`` (what the export must match)."""
    return vit_trace(layers=cfg.depth, dim=cfg.dim, heads=cfg.heads, mlp_ratio=cfg.mlp_dim / cfg.dim,
                     image=cfg.image_size, patch=cfg.patch_size, in_chans=cfg.in_channels, classes=cfg.num_classes,
                     bits=bits, stem=cfg.stem, stem_channels=cfg.stem_channels, aux_head=cfg.aux_head,
                     reuse=cfg.reuse_map)


def export_vit_trace(model: ViT, images: torch.Tensor, *, model_name: str = "vit", dataset: str = "",
                     metrics: dict[str, float] | None = None, weights: str = "trained", bits: int = 8,
                     bins: int = 64, notes: str = "") -> Trace:
    """The trace of ``model`` with statistics from ``images`` (``[N, C, H, W]``)."""
    import workloads

    cfg = model.cfg
    config = {**{k: v for k, v in asdict(cfg).items() if k != "reuse"}, "bits": bits, "tokens": cfg.tokens,
              "statistics_images": len(images)}
    reuse = cfg.reuse_map
    if reuse:
        config["reuse"] = {str(i): s for i, s in reuse.items()}
        config["reuse_encoders"] = len(reuse)
    # source: the label the goldens and committed traces carry (a name, not this module's path)
    trace = workloads.trace(
        model, images, per_sample=True, rules=vit_rules(model, bits, bins), name=model_name,
        source="workloads.vit_trace (graph capture, ViT rules)", dataset=dataset,
        input_description=f"{cfg.image_size}x{cfg.image_size} {cfg.in_channels}-channel image, {cfg.tokens} tokens",
        weights=weights, inputs="real", metrics=metrics, config=config, weight_bits=bits, activation_bits=bits,
        input_bits=bits,
        notes=notes or f"statistics (densities, K/V histograms) over {len(images)} real images; "
                       "weights stored as symmetric per-tensor int8 codes")
    ours, shapes = _structure(trace), _structure(shape_trace(cfg, bits))
    if ours != shapes:
        extra, missing = [o for o in ours if o not in shapes], [o for o in shapes if o not in ours]
        raise ValueError(f"ViT export: the captured ops are not the shape generator's (ids, kinds, MACs, edges, "
                         f"operand shapes, in order); not in the shapes: {extra[:4]}; missing: {missing[:4]}")
    return trace
