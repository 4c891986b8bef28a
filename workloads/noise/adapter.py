"""Evaluate any PyTorch model under crossbar non-idealities (inference only).

    from archsim.noise import CrossbarSpec, ClipFormerTransform
    from workloads.noise import convert, patch_attention

    spec = CrossbarSpec.from_hardware("hw_configs/clipformer_rram_32nm.yaml")
    convert(model, spec, seed=0)                  # Linear and Conv2d -> crossbar versions, in place
    with patch_attention(spec, seed=1, transform=ClipFormerTransform(2, 0.25)):
        logits = model(images)                    # F.scaled_dot_product_attention on crossbars

* :class:`CrossbarLinear` / :class:`CrossbarConv2d` program their weights once (the static
  programming noise and device variation are drawn then) and run every forward through
  :func:`archsim.noise.matmul` (bit-serial inputs, per-read noise, ADCs); the bias is added
  digitally. Convolutions unfold their input and group the rows by the spec's mapping (kernel
  positions per crossbar, or unrolled).
* :func:`crossbar_matmul_dynamic` multiplies with a run-time operand written into crossbars
  (write noise, optional K/V conductance ``transform``); :class:`CrossbarAttention` and
  :func:`patch_attention` use it for Q.K^T (K^T written) and A.V (V written), with an exact
  digital softmax.
* Per-module options: ``convert(..., options={"blocks.3.attn.qkv": {"noise.read_sigma": 0.0}})``
  applies op-tag style overrides (``CrossbarSpec.for_tags``) to modules by name.
* Seeds: every module draws from ``SeedSequence([seed, crc32(name)])``; each forward advances a
  call counter, so a run is reproducible and two calls draw fresh read noise.

Outputs are detached: this evaluates accuracy, it does not train.
"""
from __future__ import annotations

import contextlib
import math
import zlib
from typing import Callable, Iterable, Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from archsim.noise import CrossbarSpec, conv_row_groups, dynamic_matmul, matmul, program


def _seed(seed: int, name: str, *path: int) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode()), *path]).generate_state(1, np.uint64)[0] >> 1)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


class _CrossbarModule(nn.Module):
    def __init__(self, spec: CrossbarSpec, seed: int, name: str):
        super().__init__()
        self.spec, self.seed, self.name = spec, seed, name
        self.calls = 0

    def _next_seed(self) -> int:
        self.calls += 1
        return _seed(self.seed, self.name, 1, self.calls)


class CrossbarLinear(_CrossbarModule):
    """``nn.Linear`` on crossbars: weight (out, in) programmed as a (in x out) operand."""

    def __init__(self, linear: nn.Linear, spec: CrossbarSpec, *, seed: int = 0, name: str = "linear",
                 backend: str = "numba"):
        super().__init__(spec, seed, name)
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        self.backend = backend
        self.array = program(_np(linear.weight).T, spec, seed=_seed(seed, name, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.from_numpy(matmul(_np(x), self.array, seed=self._next_seed(), backend=self.backend))
        y = y.to(device=x.device, dtype=x.dtype)
        return y if self.bias is None else y + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, {self.array.groups} row groups, {self.array.c} columns/weight"


class CrossbarConv2d(_CrossbarModule):
    """``nn.Conv2d`` on crossbars (im2col + the crossbar product, one array per conv group)."""

    def __init__(self, conv: nn.Conv2d, spec: CrossbarSpec, *, seed: int = 0, name: str = "conv",
                 backend: str = "numba"):
        super().__init__(spec, seed, name)
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"{name}: only numeric zero padding is supported, got {conv.padding!r}/{conv.padding_mode}")
        self.stride, self.padding, self.dilation = conv.stride, conv.padding, conv.dilation
        self.kernel_size, self.groups = conv.kernel_size, conv.groups
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
        self.backend = backend
        w = _np(conv.weight)                                    # (out, in/g, kh, kw)
        cin, positions = self.in_channels // self.groups, self.kernel_size[0] * self.kernel_size[1]
        cout = self.out_channels // self.groups
        groups = conv_row_groups(cin, positions, spec)
        self.arrays = [program(w[g * cout:(g + 1) * cout].reshape(cout, -1).T, spec, row_groups=groups,
                               seed=_seed(seed, name, 0, g)) for g in range(self.groups)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        cols = F.unfold(x, self.kernel_size, dilation=self.dilation, padding=self.padding, stride=self.stride)
        oh = (h + 2 * self.padding[0] - self.dilation[0] * (self.kernel_size[0] - 1) - 1) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - self.dilation[1] * (self.kernel_size[1] - 1) - 1) // self.stride[1] + 1
        cols = _np(cols).transpose(0, 2, 1)                     # (n, L, in * kh * kw)
        k = cols.shape[2] // self.groups
        seed = self._next_seed()
        outs = [matmul(cols[..., g * k:(g + 1) * k].reshape(-1, k), arr, seed=_seed(seed, "g", g), backend=self.backend)
                for g, arr in enumerate(self.arrays)]
        y = np.concatenate(outs, axis=-1).reshape(n, oh * ow, self.out_channels).transpose(0, 2, 1)
        y = torch.from_numpy(np.ascontiguousarray(y)).reshape(n, self.out_channels, oh, ow).to(x.device, x.dtype)
        return y if self.bias is None else y + self.bias[None, :, None, None]


def crossbar_matmul_dynamic(a: torch.Tensor, b: torch.Tensor, spec: CrossbarSpec, *, seed: int,
                            transform: Callable | None = None, d2d_seed: int | None = None,
                            backend: str = "numba") -> torch.Tensor:
    """``a @ b`` with ``b`` written into crossbars for this call (batched over leading dims)."""
    y = dynamic_matmul(_np(a), _np(b), spec, seed=seed, transform=transform, d2d_seed=d2d_seed, backend=backend)
    return torch.from_numpy(y).to(device=a.device, dtype=a.dtype)


def crossbar_attention(q, k, v, spec: CrossbarSpec, *, seed: int, attn_mask=None, is_causal: bool = False,
                       scale: float | None = None, transform: Callable | None = None, backend: str = "numba"):
    """Scaled dot-product attention with K^T and V written into crossbars: Q.K^T and A.V on the
    crossbars, the scaling, mask and softmax digital (exact)."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = crossbar_matmul_dynamic(q, k.transpose(-2, -1), spec, seed=_seed(seed, "qk"), transform=transform,
                                     backend=backend) * scale
    L, S = q.shape[-2], k.shape[-2]
    if is_causal:
        causal = torch.ones(L, S, dtype=torch.bool, device=q.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else scores + attn_mask
    attn = torch.softmax(scores, dim=-1)
    return crossbar_matmul_dynamic(attn, v, spec, seed=_seed(seed, "av"), transform=transform, backend=backend)


class CrossbarAttention(_CrossbarModule):
    """A module form of :func:`crossbar_attention` (for frontends that call it explicitly)."""

    def __init__(self, spec: CrossbarSpec, *, seed: int = 0, name: str = "attention",
                 transform: Callable | None = None, backend: str = "numba"):
        super().__init__(spec, seed, name)
        self.transform, self.backend = transform, backend

    def forward(self, q, k, v, attn_mask=None, is_causal: bool = False, scale: float | None = None):
        return crossbar_attention(q, k, v, self.spec, seed=self._next_seed(), attn_mask=attn_mask, is_causal=is_causal,
                                  scale=scale, transform=self.transform, backend=self.backend)


@contextlib.contextmanager
def patch_attention(spec: CrossbarSpec, *, seed: int = 0, transform: Callable | None = None, backend: str = "numba"):
    """Within the block, ``torch.nn.functional.scaled_dot_product_attention`` runs on crossbars
    (models that call it, e.g. ``nn.MultiheadAttention`` with ``need_weights=False`` and timm
    ViTs). Dropout is ignored (inference)."""
    original = F.scaled_dot_product_attention
    module = CrossbarAttention(spec, seed=seed, name="sdpa", transform=transform, backend=backend)

    def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **_):
        return module(query, key, value, attn_mask=attn_mask, is_causal=is_causal, scale=scale)

    F.scaled_dot_product_attention = sdpa
    try:
        yield module
    finally:
        F.scaled_dot_product_attention = original


def convert(model: nn.Module, spec: CrossbarSpec, *, seed: int = 0, kinds: Iterable[str] = ("linear", "conv2d"),
            skip: Iterable[str] = (), options: Mapping[str, Mapping] | None = None,
            backend: str = "numba") -> list[str]:
    """Replace the model's ``nn.Linear`` / ``nn.Conv2d`` modules (in place) by crossbar versions;
    returns the names replaced. ``skip``: module names kept digital (e.g. the classifier);
    ``options``: per-module tag overrides for :meth:`CrossbarSpec.for_tags`."""
    kinds, skip, options = set(kinds), set(skip), dict(options or {})
    unknown = kinds - {"linear", "conv2d"}
    if unknown:
        raise ValueError(f"unknown module kinds {sorted(unknown)}; use 'linear' and/or 'conv2d'")
    replaced = []
    for name, module in list(model.named_modules()):
        if name in skip or not name:
            continue
        if isinstance(module, nn.Linear) and "linear" in kinds:
            cls = CrossbarLinear
        elif isinstance(module, nn.Conv2d) and "conv2d" in kinds:
            cls = CrossbarConv2d
        else:
            continue
        local = spec.for_tags(options[name], where=f"module {name}") if name in options else spec
        parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
        setattr(parent, name.rpartition(".")[2], cls(module, local, seed=seed, name=name, backend=backend))
        replaced.append(name)
    missing = set(options) - set(replaced)
    if missing:
        raise ValueError(f"options given for modules that were not converted: {sorted(missing)}")
    return replaced
