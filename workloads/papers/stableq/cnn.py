"""Post-training quantisation of a CNN: batch-norm folding, quantised layers, calibration of
activation ranges and layer-by-layer weight reconstruction on calibration images.

:func:`quantize_cnn` turns every ``Conv2d``/``Linear`` into a :class:`QLayer`: a static
per-tensor activation quantiser on the layer's input (unsigned after a ReLU, signed for the
network input) and per-output-channel asymmetric weight codes. The first and last layers keep
``edge_bits`` (8) for weights and inputs, as is usual in low-bit PTQ. Calibration images set the
activation ranges (squared-error search) and, with ``method="progressive"``, fit the weight
rounding layer by layer: the layer's input is taken from the partly quantised network, its target
output from the FP network, and :func:`workloads.quant.progressive.progressive_round` fits the
rounding (``rtn`` skips this and rounds to nearest).
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from workloads.quant.activation import ActQuant
from workloads.quant.progressive import ProgressiveConfig, progressive_round
from workloads.quant.uniform import QuantizedWeight, QuantSpec, rtn


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every BatchNorm2d that directly follows a Conv2d (in module
    registration order, within one parent or a ``conv``/``bn`` pair of siblings) folded into the
    conv's weight and bias, and replaced by an identity."""
    model = copy.deepcopy(model)
    prev: tuple[nn.Module, str, nn.Conv2d] | None = None
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d):
                prev = (parent, name, child)
            elif isinstance(child, nn.BatchNorm2d) and prev is not None:
                conv = prev[2]
                std = torch.sqrt(child.running_var + child.eps)
                gain = child.weight / std
                conv.weight.mul_(gain.reshape(-1, 1, 1, 1))
                bias = conv.bias if conv.bias is not None else torch.zeros_like(child.running_mean)
                conv.bias = nn.Parameter(child.bias + (bias - child.running_mean) * gain)
                setattr(parent, name, nn.Identity())
                prev = None
            elif len(list(child.children())) == 0 and not isinstance(child, nn.Identity):
                prev = None
    return model


class QLayer(nn.Module):
    """A conv or linear layer with a quantised input and (after :meth:`set_weight`) quantised
    weights; ``self.layer`` still holds the FP weights until then."""

    def __init__(self, layer: nn.Module, w_spec: QuantSpec, a_bits: int, signed_input: bool):
        super().__init__()
        self.layer, self.w_spec = layer, w_spec
        self.act = ActQuant(a_bits, signed=signed_input)
        self.quantized: QuantizedWeight | None = None

    @property
    def a_bits(self) -> int:
        return self.act.bits

    def set_weight(self, q: QuantizedWeight) -> None:
        self.quantized = q
        with torch.no_grad():
            self.layer.weight.copy_(q.dequantize())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.act(x))


def quant_layers(model: nn.Module) -> list[tuple[str, QLayer]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, QLayer)]


def wrap_layers(model: nn.Module, w_bits: int, a_bits: int, edge_bits: int = 8) -> nn.Module:
    """Replace every Conv2d/Linear by a :class:`QLayer` (in place); the first layer's input is
    signed (the normalised image), every other input follows a ReLU (or an average of ReLU
    outputs) and is unsigned."""
    names = [n for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for i, name in enumerate(names):
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        edge = i in (0, len(names) - 1)
        bits_w, bits_a = (edge_bits, edge_bits) if edge else (w_bits, a_bits)
        setattr(parent, attr, QLayer(getattr(parent, attr), QuantSpec(bits_w, None), bits_a, signed_input=i == 0))
    return model


def _capture(model: nn.Module, module: nn.Module, x: torch.Tensor, batch: int = 256, want: str = "input"
             ) -> torch.Tensor:
    """The input (or output) of ``module`` when ``model`` runs on ``x``."""
    got: list[torch.Tensor] = []

    def hook(m, args, out):
        got.append((args[0] if want == "input" else out).detach())

    h = module.register_forward_hook(hook)
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch):
                model(x[i:i + batch])
    finally:
        h.remove()
    return torch.cat(got)


def _qlayer_forward(block: nn.Module, params: dict, x: torch.Tensor) -> torch.Tensor:
    layer = block.layer
    w = params["layer.weight"]
    xq = block.act(x)
    if isinstance(layer, nn.Conv2d):
        return F.conv2d(xq, w, layer.bias, layer.stride, layer.padding, layer.dilation, layer.groups)
    return F.linear(xq, w, layer.bias)


def quantize_cnn(folded: nn.Module, calib: torch.Tensor, w_bits: int, a_bits: int, *, method: str = "progressive",
                 edge_bits: int = 8, cfg: ProgressiveConfig = ProgressiveConfig(),
                 progress: Callable[[str], None] | None = None) -> tuple[nn.Module, dict]:
    """A quantised copy of the BN-folded network ``folded`` calibrated on ``calib`` images."""
    if method not in ("rtn", "progressive"):
        raise ValueError(f"method {method!r}: expected 'rtn' or 'progressive'")
    fp = folded.eval()
    q = wrap_layers(copy.deepcopy(folded), w_bits, a_bits, edge_bits).eval()
    layers = quant_layers(q)
    fp_layers = [m for m in fp.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    # activation ranges from the FP network's activations on the calibration images
    for _, m in layers:
        m.act.observing = True
    with torch.no_grad():
        for i in range(0, len(calib), 256):
            q(calib[i:i + 256])
    for _, m in layers:
        m.act.observing = False
        m.act.calibrate()
    stats = {"layers": [], "mse_rtn": [], "mse_final": []}
    for (name, m), fp_layer in zip(layers, fp_layers):
        x_in = _capture(q, m, calib)                       # from the partly quantised network
        target = _capture(fp, fp_layer, calib, want="output")
        r = rtn(m.layer.weight, m.w_spec)
        with torch.no_grad():
            stats["mse_rtn"].append(float((_qlayer_forward(m, {"layer.weight": r.dequantize()}, x_in) - target)
                                          .pow(2).mean()))
        if method == "progressive":
            got, _ = progressive_round(m, {"layer": m.w_spec}, x_in, target, cfg, _qlayer_forward)
            r = got["layer"]
        m.set_weight(r)
        with torch.no_grad():
            stats["mse_final"].append(float((m(x_in) - target).pow(2).mean()))
        stats["layers"].append(name)
        if progress:
            progress(f"{name}: mse rtn {stats['mse_rtn'][-1]:.3g} -> {stats['mse_final'][-1]:.3g}")
    return q, stats


def bn_statistics_inversion(model: nn.Module, n: int, shape: tuple[int, ...], *, steps: int = 200, batch: int = 64,
                            lr: float = 0.1, ce_weight: float = 0.1, tv_weight: float = 1e-4, seed: int = 0,
                            init: torch.Tensor | None = None, progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-shot calibration images (ZeroQ / DeepInversion style): start from Gaussian noise (or
    ``init``) and optimise the pixels so that the batch mean and variance at every BatchNorm2d
    input match the layer's running statistics, plus a cross-entropy term towards random target
    classes and a total-variation prior. ``model`` is the FP network *with* its batch norms.
    Returns the images and their target classes."""
    g = torch.Generator().manual_seed(seed)
    model = copy.deepcopy(model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    feats: list[torch.Tensor] = []
    hooks = [bn.register_forward_hook(lambda m, a, o: feats.append(a[0])) for bn in bns]
    images, labels = [], []
    classes = model(torch.zeros(1, *shape)).shape[1]
    feats.clear()
    from tqdm.auto import trange
    try:
        for start in range(0, n, batch):
            m = min(batch, n - start)
            x = (init[start:start + m].clone() if init is not None else torch.randn(m, *shape, generator=g))
            x.requires_grad_(True)
            y = torch.randint(0, classes, (m,), generator=g)
            opt = torch.optim.Adam([x], lr=lr)
            for _ in trange(steps, desc=f"BN inversion {start // batch + 1}/{-(-n // batch)}", leave=False,
                            disable=not progress):
                feats.clear()
                logits = model(x)
                loss = sum((f.mean(dim=(0, 2, 3)) - bn.running_mean).norm()
                           + (f.var(dim=(0, 2, 3), unbiased=False) - bn.running_var).norm()
                           for f, bn in zip(feats, bns))
                tv = (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
                loss = loss + ce_weight * F.cross_entropy(logits, y) + tv_weight * tv
                opt.zero_grad()
                loss.backward()
                opt.step()
            images.append(x.detach())
            labels.append(y)
    finally:
        for h in hooks:
            h.remove()
    return torch.cat(images), torch.cat(labels)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    return correct / len(x)
