"""Shape-only transformer traces (no torch): DeiT-S, LV-ViT-S, BERT-Base and friends, op by op,
with TReX attention reuse.

Each encoder ``i`` (tag ``encoder: i``) is LayerNorm -> QKV projection -> Q.K^T (one matmul of
``heads`` products whose operand ``b`` = K^T is a ``dynamic_weight``) -> softmax -> A.V (``b`` =
V, ``dynamic_weight``; ``a`` = the attention probabilities, unsigned) -> output projection ->
residual add -> LayerNorm -> FC1 -> GELU -> FC2 -> residual add (``norm="pre"``, ViTs). BERT
places the LayerNorms after the residual adds (``norm="post"``).

**TReX reuse** (``reuse={i: j}``, :mod:`archsim.generators.shapes.reuse`): encoder ``i`` has no
QKV projection, K^T/V writes, Q.K^T, softmax, A.V or output projection; instead a transformation
block (tag ``block: tb``, ``reuse_source: j``) - LayerNorm (``e{i}.tb.ln``) -> D x D linear
(``e{i}.tb.fc``) -> GELU (``e{i}.tb.gelu``) - reads encoder ``j``'s concatenated head outputs
(``e{j}.av``) and feeds the residual add; the MLP stays.

**Stems.** ``stem="patch"``: a linear layer over the ``(image/patch)^2`` patches (the class token
is added without compute). ``stem="conv"`` (LV-ViT's ``PatchEmbed4_2``, Jiang et al., NeurIPS
2021): conv 7x7 stride 2 (3 -> 64) -> ReLU -> conv 3x3 (64 -> 64) -> ReLU -> conv 3x3 (64 -> 64)
-> ReLU -> conv (patch/2)x(patch/2) stride patch/2 (64 -> D); the BatchNorms fold into the
convolutions at inference. The head is LayerNorm plus a linear classifier on the class token;
``aux_head`` adds LV-ViT's token-labelling head, which its inference also runs on every patch
token (``x_cls + 0.5 max_tokens aux(x)``).

    python -m archsim.generators.shapes.transformers deit_s -o examples/deit_s.trace
    python -m archsim.generators.shapes.transformers deit_s --reuse strided:6 -o deit_s_trex6.trace
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Mapping

from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.schema import DType, Header, Provenance, Role, window_out
from archsim.generators.shapes.reuse import check_reuse, reuse_pattern

SHAPE_ONLY_NOTE = ("shapes and bit widths only; no tensors. No pretrained weights of this model exist offline, "
                   "so nothing here comes from a trained network")

PRESETS = {
    # Touvron et al., "Training data-efficient image transformers", ICML 2021: DeiT-S has 12
    # encoders of width 384 with 6 heads of 64, MLP ratio 4, 16x16 patches of 224x224 images.
    "deit_s": dict(model="deit-s", layers=12, dim=384, heads=6, mlp_ratio=4, image=224, patch=16, classes=1000),
    # Jiang et al., "All Tokens Matter: Token Labeling for Training Better Vision Transformers",
    # NeurIPS 2021 (zihangJiang/TokenLabeling, lvvit_s): 16 encoders of width 384, 6 heads, MLP
    # ratio 3, the 4-layer convolutional patch embedding and the token-labelling head at inference.
    "lvvit_s": dict(model="lv-vit-s", layers=16, dim=384, heads=6, mlp_ratio=3, image=224, patch=16, classes=1000,
                    stem="conv", aux_head=True),
}

# Devlin et al., NAACL 2019: BERT-Base has 12 encoders of width 768 with 12 heads, MLP 3072,
# post-LayerNorm; the CoLA classifier (2 classes) sits on the pooled [CLS] token.
BERT_BASE = dict(model="bert-base", layers=12, dim=768, heads=12, mlp=3072, seq_len=128, classes=2)


def _header(model: str, input_description: str, dataset: str, config: dict, timesteps: int = 1) -> Header:
    return Header(model=model, source="archsim.generators.shapes.transformers (shapes only)", dataset=dataset,
                  input_description=input_description, timesteps=timesteps,
                  provenance=Provenance(weights="shape_only", inputs="none", notes=SHAPE_ONLY_NOTE), config=config)


def vit_trace(*, model: str = "vit", layers: int, dim: int, heads: int, mlp_ratio: float = 4, image: int = 224,
              patch: int = 16, in_chans: int = 3, classes: int = 1000, bits: int = 8, timesteps: int = 1,
              embed: bool = True, head: bool = True, stem: str = "patch", stem_channels: int = 64,
              aux_head: bool = False, reuse: Mapping[int, int] | None = None,
              dataset: str = "ImageNet-1k shapes") -> Trace:
    """A shape-only ViT trace: all weights static, K^T and V dynamic, ``bits``-bit operands;
    ``reuse`` = ``{encoder: source}`` (TReX)."""
    tokens = (image // patch) ** 2 + 1
    reuse = check_reuse(reuse or {}, layers)
    config = dict(layers=layers, dim=dim, heads=heads, mlp=int(round(dim * mlp_ratio)), tokens=tokens, bits=bits)
    if stem != "patch":
        config["stem"] = stem
        config["stem_channels"] = stem_channels
    if aux_head:
        config["aux_head"] = True
    if reuse:
        config["reuse"] = {str(i): s for i, s in reuse.items()}
        config["reuse_encoders"] = len(reuse)
    header = _header(model, f"{image}x{image} {'RGB' if in_chans == 3 else f'{in_chans}-channel'} image, "
                     f"{tokens} tokens", dataset, config, timesteps)
    b = TraceBuilder(header)
    add_vit(b, layers=layers, dim=dim, heads=heads, mlp_ratio=mlp_ratio, image=image, patch=patch,
            in_chans=in_chans, classes=classes, bits=bits, embed=embed, head=head, stem=stem,
            stem_channels=stem_channels, aux_head=aux_head, reuse=reuse)
    return b.build()


OperandData = Callable[[str, str], "dict | None"]


class _Ops:
    """Operand helpers bound to one builder and bit width. ``data(op_id, operand)`` may return
    extra :meth:`TraceBuilder.operand` arguments (real tensors, histograms) for an operand."""

    def __init__(self, b: TraceBuilder, bits: int, data: OperandData | None = None):
        self.b, self.bits, self.data = b, bits, data

    def _operand(self, op_id, name, role, shape, dtype):
        extra = (self.data(op_id, name) if self.data is not None else None) or {}
        return self.b.operand(name, role, shape=shape, bits=self.bits, dtype=dtype, **extra)

    def act(self, op_id, name, shape, *, unsigned=False):
        return self._operand(op_id, name, Role.activation, shape, DType.uint if unsigned else DType.int)

    def weight(self, op_id, shape, role=Role.static_weight, name="weight"):
        return self._operand(op_id, name, role, shape, DType.int)

    def linear(self, op_id, n_tokens, k, n, inputs, tags, *, unsigned_input=False):
        self.b.add("linear", op_id, inputs=inputs, tokens=n_tokens, in_features=k, out_features=n,
                   operands=[self.act(op_id, "input", [n_tokens, k], unsigned=unsigned_input),
                             self.weight(op_id, [n, k])],
                   output=self.act(op_id, "output", [n_tokens, n]), tags=tags)

    def conv(self, op_id, cin, cout, hw, k, stride, pad, inputs, tags, *, unsigned_input=False):
        out = window_out(hw, k, stride, pad)
        self.b.add("conv2d", op_id, inputs=inputs, in_channels=cin, out_channels=cout, in_h=hw, in_w=hw,
                   kernel_h=k, kernel_w=k, stride_h=stride, stride_w=stride, pad_h=pad, pad_w=pad,
                   operands=[self.act(op_id, "input", [1, cin, hw, hw], unsigned=unsigned_input),
                             self.weight(op_id, [cout, cin, k, k])],
                   output=self.act(op_id, "output", [1, cout, out, out]), tags=tags)
        return out


def add_conv_stem(b: TraceBuilder, *, dim: int, image: int, patch: int, in_chans: int = 3, channels: int = 64,
                  bits: int = 8, prefix: str = "", inputs: list[str] | None = None,
                  operand_data: OperandData | None = None) -> str:
    """LV-ViT's 4-layer convolutional patch embedding; returns the id of its last op."""
    if patch % 2:
        raise ValueError(f"the convolutional stem needs an even patch size, got {patch}")
    o, p, t = _Ops(b, bits, operand_data), prefix, {"block": "embed"}
    # a crossbar per kernel position would hold only in_chans of its rows: unroll the 7x7xC_in
    # rows of the first convolution instead (crossbar mappers do the same for RGB inputs)
    hw = o.conv(f"{p}stem.conv1", in_chans, channels, image, 7, 2, 3, list(inputs or []),
                {**t, "imc.conv_mapping": "unrolled"})
    prev = f"{p}stem.conv1"
    for k in (2, 3):
        b.add("elementwise", f"{p}stem.relu{k - 1}", inputs=[prev], function="relu",
              elements=channels * hw * hw, tags=t)
        o.conv(f"{p}stem.conv{k}", channels, channels, hw, 3, 1, 1, [f"{p}stem.relu{k - 1}"], t, unsigned_input=True)
        prev = f"{p}stem.conv{k}"
    b.add("elementwise", f"{p}stem.relu3", inputs=[prev], function="relu", elements=channels * hw * hw, tags=t)
    half = patch // 2
    o.conv(f"{p}embed", channels, dim, hw, half, half, 0, [f"{p}stem.relu3"], t, unsigned_input=True)
    return f"{p}embed"


def add_encoders(b: TraceBuilder, *, layers: int, dim: int, heads: int, mlp: int, tokens: int, bits: int = 8,
                 prefix: str = "", inputs: list[str] | None = None, norm: str = "pre",
                 prefix_tokens: dict[int, int] | None = None,
                 before_attention: Callable[[int, list[str]], list[str]] | None = None,
                 reuse: Mapping[int, int] | None = None, operand_data: OperandData | None = None) -> list[str]:
    """Append ``layers`` encoders; returns the ids the next op reads. See the module docstring."""
    if dim % heads:
        raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
    if norm not in ("pre", "post"):
        raise ValueError(f"norm must be 'pre' or 'post', got {norm!r}")
    reuse = check_reuse(reuse or {}, layers)
    dh = dim // heads
    prefix_tokens = prefix_tokens or {}
    o, p = _Ops(b, bits, operand_data), prefix
    prev = list(inputs or [])
    for i in range(layers):
        t = {"encoder": i}
        e = f"{p}e{i}"
        block_in = prev
        attn_in = block_in
        if i in reuse:
            src = reuse[i]
            tb = {**t, "block": "tb", "reuse_source": src}
            b.add("layernorm", f"{e}.tb.ln", inputs=[f"{p}e{src}.av"], rows=tokens, cols=dim, tags=tb)
            o.linear(f"{e}.tb.fc", tokens, dim, dim, [f"{e}.tb.ln"], tb)
            b.add("gelu", f"{e}.tb.gelu", elements=tokens * dim, tags=tb)
            attn_out = f"{e}.tb.gelu"
        else:
            extra = before_attention(i, block_in) if before_attention is not None else []
            keys = tokens + prefix_tokens.get(i, 0)
            if keys != tokens:
                t = {**t, "prefix_tokens": keys - tokens}
            ta = {**t, "block": "attn"}
            if norm == "pre":
                b.add("layernorm", f"{e}.ln1", inputs=block_in, rows=tokens, cols=dim, tags=ta)
                attn_in = [f"{e}.ln1"]
            o.linear(f"{e}.qkv", tokens, dim, 3 * dim, attn_in, ta)
            b.add("matmul", f"{e}.qk", inputs=[f"{e}.qkv", *extra], batch=heads, M=tokens, K=dh, N=keys,
                  operands=[o.act(f"{e}.qk", "a", [heads, tokens, dh]),
                            o.weight(f"{e}.qk", [heads, dh, keys], Role.dynamic_weight, "b")],
                  tags={**ta, "operand": "k_t"})
            b.add("softmax", f"{e}.softmax", rows=heads * tokens, cols=keys, tags=ta)
            b.add("matmul", f"{e}.av", inputs=[f"{e}.softmax", f"{e}.qkv", *extra], batch=heads, M=tokens, K=keys,
                  N=dh, operands=[o.act(f"{e}.av", "a", [heads, tokens, keys], unsigned=True),
                                  o.weight(f"{e}.av", [heads, keys, dh], Role.dynamic_weight, "b")],
                  tags={**ta, "operand": "v"})
            o.linear(f"{e}.proj", tokens, dim, dim, [f"{e}.av"], ta)
            attn_out = f"{e}.proj"
        blk = "tb" if i in reuse else "attn"
        b.add("add", f"{e}.res1", inputs=[attn_out, *block_in], elements=tokens * dim, tags={**t, "block": blk})
        tm = {**t, "block": "mlp"}
        if norm == "pre":
            b.add("layernorm", f"{e}.ln2", rows=tokens, cols=dim, tags=tm)
            mlp_in = f"{e}.ln2"
        else:
            b.add("layernorm", f"{e}.ln1", rows=tokens, cols=dim, tags={**t, "block": blk})
            mlp_in = f"{e}.ln1"
        o.linear(f"{e}.fc1", tokens, dim, mlp, [mlp_in], tm)
        b.add("gelu", f"{e}.gelu", elements=tokens * mlp, tags=tm)
        o.linear(f"{e}.fc2", tokens, mlp, dim, [f"{e}.gelu"], tm)
        b.add("add", f"{e}.res2", inputs=[f"{e}.fc2", mlp_in if norm == "post" else f"{e}.res1"],
              elements=tokens * dim, tags=tm)
        prev = [f"{e}.res2"]
        if norm == "post":
            b.add("layernorm", f"{e}.ln2", rows=tokens, cols=dim, tags=tm)
            prev = [f"{e}.ln2"]
    return prev


def add_vit(b: TraceBuilder, *, layers: int, dim: int, heads: int, mlp_ratio: float = 4, image: int = 224,
            patch: int = 16, in_chans: int = 3, classes: int = 1000, bits: int = 8, embed: bool = True,
            head: bool | str = True, prefix: str = "", inputs: list[str] | None = None,
            prefix_tokens: dict[int, int] | None = None,
            before_attention: Callable[[int, list[str]], list[str]] | None = None,
            stem: str = "patch", stem_channels: int = 64, aux_head: bool = False,
            reuse: Mapping[int, int] | None = None, operand_data: OperandData | None = None) -> str:
    """Append a ViT's ops to ``b`` and return the id of its last op.

    ``prefix`` is prepended to every op id (two ViTs in one trace); ``inputs`` are the producers
    of the first op. ``head``: ``True`` (LayerNorm + classifier on the class token), ``"norm"``
    (the LayerNorm of the class token only: a feature extractor) or ``False``.
    ``prefix_tokens[i] = p`` prepends ``p`` run-time keys and values to encoder ``i``'s attention
    (prefix prompts: the queries attend to ``tokens + p`` keys). ``before_attention(i, block_in)``
    may append ops that encoder ``i``'s attention products wait for (e.g. prompt composition
    reading the encoder's input) and returns their ids. ``stem``: ``patch`` or ``conv``
    (LV-ViT); ``aux_head``: LV-ViT's token-labelling head; ``reuse``: TReX ``{encoder: source}``;
    ``operand_data(op_id, operand)``: extra operand arguments (a frontend's real tensors)."""
    if stem not in ("patch", "conv"):
        raise ValueError(f"stem must be 'patch' or 'conv', got {stem!r}")
    patches = (image // patch) ** 2
    tokens = patches + 1
    o, p = _Ops(b, bits, operand_data), prefix
    prev = list(inputs or [])
    if embed and stem == "conv":
        prev = [add_conv_stem(b, dim=dim, image=image, patch=patch, in_chans=in_chans, channels=stem_channels,
                              bits=bits, prefix=p, inputs=prev, operand_data=operand_data)]
    elif embed:
        o.linear(f"{p}embed", patches, in_chans * patch * patch, dim, prev, {"block": "embed"})
        prev = [f"{p}embed"]
    prev = add_encoders(b, layers=layers, dim=dim, heads=heads, mlp=int(round(dim * mlp_ratio)), tokens=tokens,
                        bits=bits, prefix=p, inputs=prev, prefix_tokens=prefix_tokens,
                        before_attention=before_attention, reuse=reuse, operand_data=operand_data)
    if head == "norm":
        b.add("layernorm", f"{p}head.ln", inputs=prev, rows=1, cols=dim, tags={"block": "head"})
        prev = [f"{p}head.ln"]
    elif head:
        b.add("layernorm", f"{p}head.ln", inputs=prev, rows=tokens, cols=dim, tags={"block": "head"})
        o.linear(f"{p}head.fc", 1, dim, classes, [f"{p}head.ln"], {"block": "head"})
        prev = [f"{p}head.fc"]
        if aux_head:
            o.linear(f"{p}head.aux", patches, dim, classes, [f"{p}head.ln"], {"block": "head"})
            # max over the patch tokens, halve, add to the class-token logits
            b.add("elementwise", f"{p}head.combine", inputs=[f"{p}head.fc", f"{p}head.aux"], function="max_add",
                  elements=patches * classes, ops_per_element=1.0, tags={"block": "head"})
            prev = [f"{p}head.combine"]
    return prev[0] if prev else ""


def bert_trace(*, model: str = "bert-base", layers: int = 12, dim: int = 768, heads: int = 12, mlp: int = 3072,
               seq_len: int = 128, classes: int = 2, bits: int = 8, reuse: Mapping[int, int] | None = None) -> Trace:
    """A shape-only BERT encoder for sequence classification (CoLA: 2 classes): embedding sums
    and LayerNorm (lookups cost no MACs), ``layers`` post-LN encoders over ``seq_len`` tokens,
    the pooler (D x D linear + tanh on [CLS]) and the classifier."""
    reuse = check_reuse(reuse or {}, layers)
    config = dict(layers=layers, dim=dim, heads=heads, mlp=mlp, tokens=seq_len, bits=bits, norm="post")
    if reuse:
        config["reuse"] = {str(i): s for i, s in reuse.items()}
        config["reuse_encoders"] = len(reuse)
    b = TraceBuilder(_header(model, f"{seq_len} tokens", "CoLA shapes", config))
    o = _Ops(b, bits)
    t = {"block": "embed"}
    b.add("add", "embed.sum", inputs=[], elements=2 * seq_len * dim, tags=t)     # word + position + type
    b.add("layernorm", "embed.ln", rows=seq_len, cols=dim, tags=t)
    prev = add_encoders(b, layers=layers, dim=dim, heads=heads, mlp=mlp, tokens=seq_len, bits=bits,
                        inputs=["embed.ln"], norm="post", reuse=reuse)
    th = {"block": "head"}
    o.linear("pooler.fc", 1, dim, dim, prev, th)
    b.add("elementwise", "pooler.tanh", function="tanh", elements=dim, ops_per_element=8.0, tags=th)
    o.linear("head.fc", 1, dim, classes, ["pooler.tanh"], th)
    return b.build()


def preset_trace(name: str, *, reuse: Mapping[int, int] | None = None, **overrides) -> Trace:
    """A named preset (``deit_s``, ``lvvit_s``, ``bert_base``), optionally with TReX reuse."""
    if name == "bert_base":
        cfg = {**BERT_BASE, **overrides}
        if reuse:
            cfg["model"] = f"{cfg['model']}-trex{len(reuse)}"
        return bert_trace(**cfg, reuse=reuse)
    if name not in PRESETS:
        raise KeyError(f"unknown transformer preset {name!r}; known: {', '.join([*PRESETS, 'bert_base'])}")
    cfg = {**PRESETS[name], **overrides}
    if reuse:
        cfg["model"] = f"{cfg['model']}-trex{len(reuse)}"
    return vit_trace(**cfg, reuse=reuse)


def layers_of(name: str, **overrides) -> int:
    base = BERT_BASE if name == "bert_base" else PRESETS[name]
    return int(overrides.get("layers", base["layers"]))


def parse_reuse(text: str, layers: int) -> dict[int, int]:
    """``strided:6``, ``continuous:4``, ``pyramid:6`` or ``list:4,6,7`` -> ``{encoder: source}``."""
    kind, _, arg = text.partition(":")
    if kind == "list":
        return reuse_pattern("list", layers, encoders=[int(x) for x in arg.split(",") if x])
    try:
        n = int(arg)
    except ValueError:
        raise ValueError(f"--reuse {text!r}: expected KIND:N (strided, continuous, pyramid) or list:I,J,...") from None
    return reuse_pattern(kind, layers, n)


def main(argv=None) -> int:
    from archsim.cli.common import say_wrote

    p = argparse.ArgumentParser(description="write a shape-only transformer trace")
    p.add_argument("preset", choices=sorted([*PRESETS, "bert_base"]))
    p.add_argument("-o", "--out", required=True, type=Path)
    p.add_argument("--reuse", help="TReX attention reuse: strided:N, continuous:N, pyramid:N or list:I,J,...")
    p.add_argument("--seq-len", type=int, help="bert_base: sequence length (default 128)")
    args = p.parse_args(argv)
    overrides = {"seq_len": args.seq_len} if args.seq_len else {}
    try:
        reuse = parse_reuse(args.reuse, layers_of(args.preset)) if args.reuse else None
    except ValueError as exc:
        p.error(str(exc))
    trace = preset_trace(args.preset, reuse=reuse, **overrides)
    trace.save(args.out)     # the header records the reuse map
    say_wrote(args.out, f"{len(trace.ops)} ops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
