"""Hand-written traces: a YAML list of layers with shapes and densities.

    model: tiny-snn
    timesteps: 4
    input: {shape: [3, 32, 32], role: spike, density: 0.2}   # per sample, batch excluded
    layers:
      - {name: conv1, kind: conv2d, out_channels: 16, kernel: 3, padding: 1,
         weight: {bits: 8, density: 0.1}}
      - {name: lif1, kind: lif, threshold: 1.0, leak: 0.5}
      - {name: pool1, kind: pool, kernel: 2, stride: 2}
      - {name: fc, kind: linear, out_features: 10, input: {role: spike, density: 0.1}}

Shapes flow from layer to layer (conv and pool change them, a linear layer flattens a feature
map; a ``matmul`` of ``batch`` products outputs ``[batch, M, N]``, and a linear layer reading it
concatenates the heads: ``M`` tokens of ``batch * N`` features). A layer's input operand takes ``input:`` when given; otherwise it is a spike operand after
a ``lif`` layer and an activation elsewhere, with density 1. Tensors are not stored: the
simulator draws deterministic synthetic ones from the statistics when it needs them.
See docs/trace-format.md, section "YAML layer lists".
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal, Union

import pydantic
from pydantic import Field

from archsim.config.validation import Strict, validate
from archsim.config.yaml_loader import load_yaml
from archsim.errors import ConfigError, TraceError
from archsim.trace.builder import TraceBuilder
from archsim.trace.io import Trace
from archsim.trace.schema import Header, Provenance, Quant, Role, Sparsity

Pair = Union[Annotated[int, Field(ge=0)], tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]]


class OperandSpec(Strict):
    role: Role | None = None
    bits: int | None = Field(default=None, ge=1)
    density: float = Field(default=1.0, ge=0, le=1)
    density_per_timestep: list[Annotated[float, Field(ge=0, le=1)]] | None = None
    spike_count_histogram: list[Annotated[int, Field(ge=0)]] | None = None
    quant: Quant | None = None


class _Layer(Strict):
    name: str
    inputs: list[str] | None = None
    input: OperandSpec | None = None
    timesteps: int | None = Field(default=None, ge=1)
    tags: dict[str, Union[bool, int, float, str]] = Field(default_factory=dict)


class ConvLayer(_Layer):
    kind: Literal["conv2d"]
    out_channels: int = Field(ge=1)
    kernel: Pair
    stride: Pair = 1
    padding: Pair = 0
    groups: int = Field(default=1, ge=1)
    weight: OperandSpec = Field(default_factory=OperandSpec)


class LinearLayer(_Layer):
    kind: Literal["linear"]
    out_features: int = Field(ge=1)
    weight: OperandSpec = Field(default_factory=OperandSpec)


class MatmulLayer(_Layer):
    kind: Literal["matmul"]
    batch: int = Field(default=1, ge=1)
    M: int = Field(ge=1)
    K: int = Field(ge=1)
    N: int = Field(ge=1)
    b: OperandSpec = Field(default_factory=lambda: OperandSpec(role=Role.dynamic_weight))


class LifLayer(_Layer):
    kind: Literal["lif"]
    threshold: float = 1.0
    leak: float = Field(default=1.0, ge=0, le=1)
    reset: Literal["hard", "soft", "multiply"] = "hard"


class PoolLayer(_Layer):
    kind: Literal["pool"]
    mode: Literal["max", "avg"] = "max"
    kernel: Pair
    stride: Pair | None = None
    padding: Pair = 0


class RowLayer(_Layer):
    kind: Literal["softmax", "layernorm"]


class ElementLayer(_Layer):
    kind: Literal["gelu", "silu", "add"]


Layer = Annotated[Union[ConvLayer, LinearLayer, MatmulLayer, LifLayer, PoolLayer, RowLayer, ElementLayer],
                  Field(discriminator="kind")]


class NetworkInput(Strict):
    shape: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    role: Role = Role.activation
    bits: int | None = Field(default=None, ge=1)
    density: float = Field(default=1.0, ge=0, le=1)


class LayerList(Strict):
    model: str
    source: str = "hand-written YAML layer list"
    dataset: str = ""
    timesteps: int = Field(default=1, ge=1)
    batch: int = Field(default=1, ge=1)
    seed: int = 0
    variables: dict = Field(default_factory=dict)
    input: NetworkInput
    layers: list[Layer] = Field(min_length=1)


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def load_layer_list(path: str | Path) -> Trace:
    """Convert a YAML layer list into a trace (statistics only, no tensors)."""
    doc = load_yaml(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'model', 'input' and 'layers'")
    spec = validate(LayerList, doc.data, doc)
    header = Header(model=spec.model, source=spec.source, dataset=spec.dataset, batch=spec.batch,
                    timesteps=spec.timesteps, seed=spec.seed,
                    provenance=Provenance(weights="synthetic", inputs="synthetic",
                                          notes=f"hand-written layer list {Path(path).name}: shapes and "
                                                "densities only; tensors are synthetic when simulated"))
    b = TraceBuilder(header)
    shapes: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}
    prev = None
    for i, layer in enumerate(spec.layers):
        try:
            prev = _add_layer(b, layer, spec, shapes, kinds, prev)
        except (TraceError, ValueError) as exc:
            raise ConfigError(f"{doc.locate(('layers', i))}: layers[{i}] ({layer.name}): {exc}") from None
    return b.build()


def _operand(b: TraceBuilder, name: str, spec: OperandSpec | None, default_role: Role, shape: list[int],
             T: int, default_bits: int) -> object:
    spec = spec or OperandSpec()
    role = spec.role or default_role
    hist = spec.spike_count_histogram
    if hist is not None and len(hist) != T + 1:
        raise ValueError(f"{name}.spike_count_histogram needs T+1 = {T + 1} entries, got {len(hist)}")
    sparsity = Sparsity(density=spec.density, density_per_timestep=spec.density_per_timestep,
                        spike_count_histogram=hist)
    bits = 1 if role == Role.spike else (spec.bits or default_bits)
    return b.operand(name, role, shape=shape, bits=bits, quant=spec.quant, sparsity=sparsity, timesteps=T)


def _add_layer(b: TraceBuilder, layer, spec: LayerList, shapes, kinds, prev):
    T = layer.timesteps or spec.timesteps
    N = spec.batch
    inputs = layer.inputs if layer.inputs is not None else ([prev] if prev else [])
    for src in inputs:
        if src not in shapes:
            raise ValueError(f"input '{src}' is not an earlier layer")
    in_shape = shapes[inputs[0]] if inputs else list(spec.input.shape)
    after_lif = bool(inputs) and kinds[inputs[0]] == "lif"
    default_role = Role.spike if after_lif else (spec.input.role if not inputs else Role.activation)
    in_spec = layer.input
    if not inputs and in_spec is None:
        in_spec = OperandSpec(role=spec.input.role, bits=spec.input.bits, density=spec.input.density)
    common = dict(inputs=inputs, timesteps=T, tags=layer.tags)

    if layer.kind == "conv2d":
        if len(in_shape) != 3:
            raise ValueError(f"conv2d needs a [C, H, W] input, got {in_shape}")
        C, H, W = in_shape
        (kh, kw), (sh, sw), (ph, pw) = _pair(layer.kernel), _pair(layer.stride), _pair(layer.padding)
        x = _operand(b, "input", in_spec, default_role, [N, C, H, W], T, 8)
        w = _operand(b, "weight", layer.weight, Role.static_weight, [layer.out_channels, C // layer.groups, kh, kw], T, 8)
        op = b.add("conv2d", layer.name, operands=[x, w], batch=N, in_channels=C, out_channels=layer.out_channels,
                   in_h=H, in_w=W, kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw,
                   groups=layer.groups, **common)
        out = [layer.out_channels, op.out_h, op.out_w]
    elif layer.kind == "linear":
        if len(in_shape) == 2:        # [tokens, features]
            seq, features = in_shape
        elif len(in_shape) == 3 and inputs and kinds[inputs[0]] == "matmul":
            seq, features = in_shape[1], in_shape[0] * in_shape[2]   # [heads, tokens, d]: heads concatenated
        else:                         # a feature map is flattened
            seq, features = 1, math.prod(in_shape)
        tokens = N * seq
        x = _operand(b, "input", in_spec, default_role, [tokens, features], T, 8)
        w = _operand(b, "weight", layer.weight, Role.static_weight, [layer.out_features, features], T, 8)
        b.add("linear", layer.name, operands=[x, w], tokens=tokens, in_features=features,
              out_features=layer.out_features, **common)
        out = [seq, layer.out_features] if len(in_shape) == 2 or seq > 1 else [layer.out_features]
    elif layer.kind == "matmul":
        a = _operand(b, "a", in_spec, default_role, [layer.batch, layer.M, layer.K], T, 8)
        bb = _operand(b, "b", layer.b, Role.dynamic_weight, [layer.batch, layer.K, layer.N], T, 8)
        b.add("matmul", layer.name, operands=[a, bb], batch=layer.batch, M=layer.M, K=layer.K, N=layer.N, **common)
        out = [layer.batch, layer.M, layer.N]
    elif layer.kind == "lif":
        b.add("lif", layer.name, neurons=N * math.prod(in_shape), threshold=layer.threshold, leak=layer.leak,
              reset=layer.reset, **common)
        out = in_shape
    elif layer.kind == "pool":
        if len(in_shape) != 3:
            raise ValueError(f"pool needs a [C, H, W] input, got {in_shape}")
        C, H, W = in_shape
        (kh, kw), (ph, pw) = _pair(layer.kernel), _pair(layer.padding)
        sh, sw = _pair(layer.stride) if layer.stride is not None else (kh, kw)
        op = b.add("pool", layer.name, mode=layer.mode, batch=N, channels=C, in_h=H, in_w=W, kernel_h=kh,
                   kernel_w=kw, stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, **common)
        out = [C, op.out_h, op.out_w]
    elif layer.kind in ("softmax", "layernorm"):
        cols = in_shape[-1]
        b.add(layer.kind, layer.name, rows=N * math.prod(in_shape) // cols, cols=cols, **common)
        out = in_shape
    else:
        b.add(layer.kind, layer.name, elements=N * math.prod(in_shape), **common)
        out = in_shape
    shapes[layer.name], kinds[layer.name] = out, layer.kind
    return layer.name
