"""Quantise a LLaMA-architecture ``transformers`` model layer by layer and measure perplexity.

:func:`quantize_llama` walks the decoder layers in order. For layer ``i`` it has the FP model's
inputs ``x_fp`` and the already-quantised model's inputs ``x_q`` of that layer on the calibration
tokens; the FP layer's outputs on ``x_fp`` are the targets. Round-to-nearest (``rtn``) quantises
each of the seven linears on its own; ``progressive`` runs
:func:`workloads.quant.progressive.progressive_round` on the whole layer (inputs ``x_q``, targets
the FP outputs), so the rounding of all seven linears is fitted jointly against the layer output.
The layer's weights are then replaced by their dequantised values (fake quantisation) and both
input streams advance one layer. The embedding, norms and head stay in floating point.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.func import functional_call

from workloads.quant.activation import per_token_fake_quant
from workloads.quant.progressive import ProgressiveConfig, progressive_round
from workloads.quant.uniform import QuantizedWeight, QuantSpec, rtn

# the seven linears of a decoder layer and their op names in archsim.generators.shapes.llm
LINEARS = {"self_attn.q_proj": "q", "self_attn.k_proj": "k", "self_attn.v_proj": "v", "self_attn.o_proj": "o",
           "mlp.gate_proj": "gate", "mlp.up_proj": "up", "mlp.down_proj": "down"}


def trace_op_id(layer: int, linear: str) -> str:
    """The op id of ``model.layers.<layer>.<linear>`` in an :func:`archsim.generators.shapes.llm.llm_trace`."""
    return f"L{layer}.{LINEARS[linear]}"


class _Stop(Exception):
    pass


@torch.no_grad()
def capture_layer_inputs(model, ids: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The first decoder layer's input hidden states for ``ids`` ``[B, T]`` and the keyword
    arguments the model passes to every layer (rotary embeddings, mask, positions). Tensors with a
    batch axis keep one sample: the calibration sequences all have the same length and no padding."""
    layers = model.model.layers
    got = {}

    def pre(module, args, kwargs):
        got["x"] = args[0] if args else kwargs.pop("hidden_states")
        got["kwargs"] = kwargs
        raise _Stop

    handle = layers[0].register_forward_pre_hook(pre, with_kwargs=True)
    try:
        model(ids, use_cache=False)
    except _Stop:
        pass
    finally:
        handle.remove()
    b = ids.shape[0]

    def one(v):
        if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == b and b > 1:
            return v[:1]
        if isinstance(v, tuple):
            return tuple(one(t) for t in v)
        return v

    kwargs = {k: one(v) for k, v in got["kwargs"].items() if k not in ("cache", "past_key_values")}
    kwargs["use_cache"] = False
    return got["x"].detach(), kwargs


def _layer_forward(kwargs: dict):
    def forward(block: nn.Module, params: dict, x: torch.Tensor) -> torch.Tensor:
        out = functional_call(block, params, (x,), kwargs)
        return out[0] if isinstance(out, tuple) else out
    return forward


def quantize_llama(model, spec: QuantSpec, method: str, calib_ids: torch.Tensor,
                   cfg: ProgressiveConfig = ProgressiveConfig(), *, clip_search: bool = False,
                   progress: Callable[[str], None] | None = None) -> tuple[dict[str, QuantizedWeight], dict]:
    """Quantise every decoder-layer linear of ``model`` in place (fake quantisation); returns
    ``{"model.layers.<i>.<linear>": QuantizedWeight}`` and per-layer statistics (output MSE of
    the layer against the FP layer before and after, with RTN for reference)."""
    if method not in ("rtn", "progressive"):
        raise ValueError(f"method {method!r}: expected 'rtn' or 'progressive'")
    x, kwargs = capture_layer_inputs(model, calib_ids)
    forward = _layer_forward(kwargs)
    x_fp, x_q = x, x.clone()
    out: dict[str, QuantizedWeight] = {}
    stats: dict[str, list[float]] = {"mse_rtn": [], "mse_final": []}
    for i, layer in enumerate(model.model.layers):
        modules = dict(layer.named_modules())
        with torch.no_grad():
            target = forward(layer, {}, x_fp)
            rtn_q = {name: rtn(modules[name].weight, spec, clip_search=clip_search) for name in LINEARS}
            rtn_params = {f"{n}.weight": q.dequantize() for n, q in rtn_q.items()}
            stats["mse_rtn"].append(float((forward(layer, rtn_params, x_q) - target).pow(2).mean()))
        if method == "rtn":
            quant = rtn_q
        else:
            quant, _ = progressive_round(layer, {name: spec for name in LINEARS}, x_q, target, cfg, forward)
        with torch.no_grad():
            for name, q in quant.items():
                modules[name].weight.copy_(q.dequantize().to(modules[name].weight.dtype))
                out[f"model.layers.{i}.{name}"] = q
            x_q = forward(layer, {}, x_q)
            stats["mse_final"].append(float((x_q - target).pow(2).mean()))
            x_fp = target
        if progress:
            progress(f"layer {i}: mse rtn {stats['mse_rtn'][-1]:.3g} -> {stats['mse_final'][-1]:.3g}")
    return out, stats


def enable_token_act_quant(model, bits: int) -> list:
    """Quantise every decoder-layer linear's input per token, dynamically, to ``bits`` (W4A4);
    returns the hook handles (``h.remove()`` undoes it)."""
    handles = []
    for layer in model.model.layers:
        modules = dict(layer.named_modules())
        for name in LINEARS:
            handles.append(modules[name].register_forward_pre_hook(
                lambda m, args: (per_token_fake_quant(args[0], bits),) + tuple(args[1:])))
    return handles


@torch.no_grad()
def perplexity(model, ids: torch.Tensor, window: int = 512) -> float:
    """exp(mean next-token negative log-likelihood) over non-overlapping windows of ``window``
    tokens of the 1-D token sequence ``ids`` (each window predicts its tokens 2..window)."""
    ids = ids.reshape(-1)
    n = (ids.numel() // window) * window
    if n == 0:
        raise ValueError(f"need at least {window} tokens, got {ids.numel()}")
    chunks = ids[:n].reshape(-1, window)
    nll, count = 0.0, 0
    for c in chunks:
        logits = model(c[None], use_cache=False).logits[0, :-1].float()
        nll += float(torch.nn.functional.cross_entropy(logits, c[1:], reduction="sum"))
        count += window - 1
    return float(torch.exp(torch.tensor(nll / count)))
