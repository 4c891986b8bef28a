"""Shape-only traces of prompt-based continual learning at inference (no torch): the two-stage
pipeline of L2P / DualPrompt / CODA-Prompt and the one-stage OS-Prompt (Kim et al., ECCV 2024).

Both run a ViT backbone whose encoders ``prompt_layers`` get prefix prompts: ``prompt_length``
tokens composed from a pool of ``pool`` components, the first half prepended to that encoder's
keys and the second half to its values (queries attend to ``tokens + prompt_length / 2`` keys).
Composition for encoder ``l`` (CODA-Prompt's, tags ``block: prompt``, ``encoder: l``), for a
query ``q`` of width ``D``:

* ``cos(q * A_m, K_m) = q . (A_m * K_m) / (|q * A_m| |K_m|)``: a ``linear`` of ``q`` against the
  static ``[pool, D]`` products ``A_m * K_m`` (``pl.sim``), a ``linear`` of ``q^2`` against
  ``A_m^2`` for the norms (``pl.norm``), and an ``elementwise`` square / divide;
* ``sum_m alpha_m P_m``: a ``linear`` of the ``pool`` weights against the static prompt pool
  ``[prompt_length * D, pool]`` (``pl.compose``).

That is ``(2 D + prompt_length D) * pool`` MACs per prompted encoder (0.77 M for ViT-B/16, pool
100, length 8).

* ``two_stage``: a full pass of a separate query ViT (ops ``query.*``, no classifier: its output
  is the normalised class token) produces one query shared by every prompted encoder; then the
  prompted backbone runs. About 2 x 17.6 = 35.1 GMAC per 224x224 image for ViT-B/16.
* ``one_stage``: the query of encoder ``l`` is the class token of the backbone's own input to
  encoder ``l``, so composition depends on the previous encoder and no second pass exists:
  about 17.6 GMAC.

OS-Prompt++'s query-pool regularisation loss runs during training only and is not part of
either trace.

    python -m archsim.generators.shapes.pcl one_stage -o os_prompt.trace
"""
from __future__ import annotations

import argparse
from pathlib import Path

from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.schema import DType, Header, Provenance, Role
from archsim.generators.shapes.transformers import add_vit

# ViT-B/16 (Dosovitskiy et al., ICLR 2021), the backbone of L2P/DualPrompt/CODA-P/OS-Prompt
VIT_B16 = dict(layers=12, dim=768, heads=12, mlp_ratio=4, image=224, patch=16, in_chans=3, classes=1000)
MODES = ("one_stage", "two_stage")


def pcl_trace(mode: str, *, vit: dict | None = None, prompt_layers: tuple[int, ...] = (0, 1, 2, 3, 4),
              pool: int = 100, prompt_length: int = 8, bits: int = 8, model: str | None = None) -> Trace:
    """The inference trace of one image in ``mode`` (``one_stage`` or ``two_stage``)."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    if prompt_length % 2:
        raise ValueError(f"prompt_length {prompt_length} must be even (half keys, half values)")
    vit = {**VIT_B16, **(vit or {})}
    if any(not 0 <= layer < vit["layers"] for layer in prompt_layers):
        raise ValueError(f"prompt_layers {prompt_layers} must lie in 0..{vit['layers'] - 1}")
    dim = vit["dim"]
    tokens = (vit["image"] // vit["patch"]) ** 2 + 1
    header = Header(
        model=model or f"pcl-{mode.replace('_', '-')}-vit", source="archsim.generators.shapes.pcl (shapes only)",
        dataset="ImageNet-1k shapes", input_description=f"{vit['image']}x{vit['image']} RGB image, {tokens} tokens",
        provenance=Provenance(weights="shape_only", inputs="none", notes="shapes and bit widths only; no tensors"),
        config={**vit, "mode": mode, "prompt_layers": list(prompt_layers), "pool": pool,
                "prompt_length": prompt_length, "bits": bits})
    b = TraceBuilder(header)

    def act(name, shape):
        return b.operand(name, Role.activation, shape=shape, bits=bits, dtype=DType.int)

    def static(shape):
        return b.operand("weight", Role.static_weight, shape=shape, bits=bits, dtype=DType.int)

    def compose(layer: int, query: list[str]) -> list[str]:
        t = {"block": "prompt", "encoder": layer}
        pl = f"p{layer}"
        b.add("elementwise", f"{pl}.square", inputs=query, function="square", elements=dim, tags=t)
        b.add("linear", f"{pl}.sim", inputs=query, tokens=1, in_features=dim, out_features=pool,
              operands=[act("input", [1, dim]), static([pool, dim])], output=act("output", [1, pool]), tags=t)
        b.add("linear", f"{pl}.norm", inputs=[f"{pl}.square"], tokens=1, in_features=dim, out_features=pool,
              operands=[act("input", [1, dim]), static([pool, dim])], output=act("output", [1, pool]), tags=t)
        b.add("elementwise", f"{pl}.cosine", inputs=[f"{pl}.sim", f"{pl}.norm"], function="sqrt_divide",
              elements=pool, ops_per_element=2.0, tags=t)
        n = prompt_length * dim
        b.add("linear", f"{pl}.compose", inputs=[f"{pl}.cosine"], tokens=1, in_features=pool, out_features=n,
              operands=[act("input", [1, pool]), static([n, pool])], output=act("output", [1, n]), tags=t)
        return [f"{pl}.compose"]

    arch = {k: vit[k] for k in ("layers", "dim", "heads", "mlp_ratio", "image", "patch", "in_chans", "classes")}
    shared_query: list[str] = []
    if mode == "two_stage":
        shared_query = [add_vit(b, **arch, bits=bits, head="norm", prefix="query.")]

    def before_attention(layer: int, block_in: list[str]) -> list[str]:
        if layer not in prompt_layers:
            return []
        return compose(layer, shared_query if mode == "two_stage" else block_in)

    add_vit(b, **arch, bits=bits, head=True, inputs=[], prefix_tokens={layer: prompt_length // 2 for layer in prompt_layers},
            before_attention=before_attention)
    return b.build()


def main(argv=None) -> int:
    from archsim.cli.common import say_wrote

    p = argparse.ArgumentParser(description="write a shape-only prompt-based continual-learning trace (ViT-B/16)")
    p.add_argument("mode", choices=MODES)
    p.add_argument("-o", "--out", required=True, type=Path)
    p.add_argument("--bits", type=int, default=8)
    args = p.parse_args(argv)
    trace = pcl_trace(args.mode, bits=args.bits)
    trace.save(args.out)
    say_wrote(args.out, f"{len(trace.ops)} ops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
