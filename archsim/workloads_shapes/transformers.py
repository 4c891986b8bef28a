"""Shape-only vision-transformer traces (no torch): DeiT-S and friends, op by op.

Each encoder ``i`` (tag ``encoder: i``) is LayerNorm -> QKV projection -> Q.K^T (one matmul of
``heads`` products whose operand ``b`` = K^T is a ``dynamic_weight``) -> softmax -> A.V (``b`` =
V, ``dynamic_weight``; ``a`` = the attention probabilities, unsigned) -> output projection ->
residual add -> LayerNorm -> FC1 -> GELU -> FC2 -> residual add. The patch embedding is a linear
layer over the ``(image/patch)^2`` patches (the class token is added without compute); the head is
LayerNorm plus a linear classifier on the class token.

    python -m archsim.workloads_shapes.transformers deit_s -o examples/deit_s.trace
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.schema import DType, Header, Provenance, Role

PRESETS = {
    # Touvron et al., "Training data-efficient image transformers", ICML 2021: DeiT-S has 12
    # encoders of width 384 with 6 heads of 64, MLP ratio 4, 16x16 patches of 224x224 images.
    "deit_s": dict(model="deit-s", layers=12, dim=384, heads=6, mlp_ratio=4, image=224, patch=16, classes=1000),
}


def vit_trace(*, model: str = "vit", layers: int, dim: int, heads: int, mlp_ratio: float = 4, image: int = 224,
              patch: int = 16, in_chans: int = 3, classes: int = 1000, bits: int = 8, timesteps: int = 1,
              embed: bool = True, head: bool = True) -> Trace:
    """A shape-only ViT trace: all weights static, K^T and V dynamic, ``bits``-bit operands."""
    patches = (image // patch) ** 2
    tokens = patches + 1
    header = Header(model=model, source="archsim.workloads_shapes.transformers (shapes only)",
                    dataset="ImageNet-1k shapes", input_description=f"{image}x{image} RGB image, {tokens} tokens",
                    timesteps=timesteps,
                    provenance=Provenance(weights="shape_only", inputs="none",
                                          notes="shapes and bit widths only; no tensors"),
                    config=dict(layers=layers, dim=dim, heads=heads, mlp=int(round(dim * mlp_ratio)), tokens=tokens,
                                bits=bits))
    b = TraceBuilder(header)
    add_vit(b, layers=layers, dim=dim, heads=heads, mlp_ratio=mlp_ratio, image=image, patch=patch,
            in_chans=in_chans, classes=classes, bits=bits, embed=embed, head=head)
    return b.build()


def add_vit(b: TraceBuilder, *, layers: int, dim: int, heads: int, mlp_ratio: float = 4, image: int = 224,
            patch: int = 16, in_chans: int = 3, classes: int = 1000, bits: int = 8, embed: bool = True,
            head: bool | str = True, prefix: str = "", inputs: list[str] | None = None,
            prefix_tokens: dict[int, int] | None = None,
            before_attention: Callable[[int, list[str]], list[str]] | None = None) -> str:
    """Append a ViT's ops to ``b`` and return the id of its last op.

    ``prefix`` is prepended to every op id (two ViTs in one trace); ``inputs`` are the producers
    of the first op. ``head``: ``True`` (LayerNorm + classifier on the class token), ``"norm"``
    (the LayerNorm of the class token only: a feature extractor) or ``False``.
    ``prefix_tokens[i] = p`` prepends ``p`` run-time keys and values to encoder ``i``'s attention
    (prefix prompts: the queries attend to ``tokens + p`` keys). ``before_attention(i, block_in)``
    may append ops that encoder ``i``'s attention products wait for (e.g. prompt composition
    reading the encoder's input) and returns their ids."""
    if dim % heads:
        raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
    patches = (image // patch) ** 2
    tokens = patches + 1
    dh, mlp = dim // heads, int(round(dim * mlp_ratio))
    prefix_tokens = prefix_tokens or {}

    def act(name, shape, *, unsigned=False):
        return b.operand(name, Role.activation, shape=shape, bits=bits, dtype=DType.uint if unsigned else DType.int)

    def weight(shape, role=Role.static_weight, name="weight"):
        return b.operand(name, role, shape=shape, bits=bits, dtype=DType.int)

    def linear(op_id, n_tokens, k, n, inputs, tags):
        b.add("linear", op_id, inputs=inputs, tokens=n_tokens, in_features=k, out_features=n,
              operands=[act("input", [n_tokens, k]), weight([n, k])], output=act("output", [n_tokens, n]), tags=tags)

    p = prefix
    prev = list(inputs or [])
    if embed:
        linear(f"{p}embed", patches, in_chans * patch * patch, dim, prev, {"block": "embed"})
        prev = [f"{p}embed"]
    for i in range(layers):
        t = {"encoder": i}
        e = f"{p}e{i}"
        block_in = prev
        extra = before_attention(i, block_in) if before_attention is not None else []
        keys = tokens + prefix_tokens.get(i, 0)
        if keys != tokens:
            t = {**t, "prefix_tokens": keys - tokens}
        b.add("layernorm", f"{e}.ln1", inputs=block_in, rows=tokens, cols=dim, tags={**t, "block": "attn"})
        linear(f"{e}.qkv", tokens, dim, 3 * dim, [f"{e}.ln1"], {**t, "block": "attn"})
        b.add("matmul", f"{e}.qk", inputs=[f"{e}.qkv", *extra], batch=heads, M=tokens, K=dh, N=keys,
              operands=[act("a", [heads, tokens, dh]), weight([heads, dh, keys], Role.dynamic_weight, "b")],
              tags={**t, "block": "attn", "operand": "k_t"})
        b.add("softmax", f"{e}.softmax", rows=heads * tokens, cols=keys, tags={**t, "block": "attn"})
        b.add("matmul", f"{e}.av", inputs=[f"{e}.softmax", f"{e}.qkv", *extra], batch=heads, M=tokens, K=keys, N=dh,
              operands=[act("a", [heads, tokens, keys], unsigned=True),
                        weight([heads, keys, dh], Role.dynamic_weight, "b")],
              tags={**t, "block": "attn", "operand": "v"})
        linear(f"{e}.proj", tokens, dim, dim, [f"{e}.av"], {**t, "block": "attn"})
        b.add("add", f"{e}.res1", inputs=[f"{e}.proj", *block_in], elements=tokens * dim, tags={**t, "block": "attn"})
        b.add("layernorm", f"{e}.ln2", rows=tokens, cols=dim, tags={**t, "block": "mlp"})
        linear(f"{e}.fc1", tokens, dim, mlp, [f"{e}.ln2"], {**t, "block": "mlp"})
        b.add("gelu", f"{e}.gelu", elements=tokens * mlp, tags={**t, "block": "mlp"})
        linear(f"{e}.fc2", tokens, mlp, dim, [f"{e}.gelu"], {**t, "block": "mlp"})
        b.add("add", f"{e}.res2", inputs=[f"{e}.fc2", f"{e}.res1"], elements=tokens * dim, tags={**t, "block": "mlp"})
        prev = [f"{e}.res2"]
    if head == "norm":
        b.add("layernorm", f"{p}head.ln", inputs=prev, rows=1, cols=dim, tags={"block": "head"})
        prev = [f"{p}head.ln"]
    elif head:
        b.add("layernorm", f"{p}head.ln", inputs=prev, rows=tokens, cols=dim, tags={"block": "head"})
        linear(f"{p}head.fc", 1, dim, classes, [f"{p}head.ln"], {"block": "head"})
        prev = [f"{p}head.fc"]
    return prev[0] if prev else ""


def preset_trace(name: str, **overrides) -> Trace:
    if name not in PRESETS:
        raise KeyError(f"unknown transformer preset {name!r}; known: {', '.join(PRESETS)}")
    return vit_trace(**{**PRESETS[name], **overrides})


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="write a shape-only transformer trace")
    p.add_argument("preset", choices=sorted(PRESETS))
    p.add_argument("-o", "--out", required=True, type=Path)
    args = p.parse_args(argv)
    preset_trace(args.preset).save(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
