"""Trace format, version 1: the contract between workload frontends and the simulator.

A trace is a header (what model, what data, what is real) plus operations in topological order.
Each operation names its producers (``inputs``), carries its loop bounds and, for conv2d, linear
and matmul, its GEMM view (M, K, N). Operands carry a role, a data type and bit width, an
optional quantisation spec, optional sparsity statistics and an optional reference to a stored
tensor. ``docs/trace-format.md`` documents every field with its unit.
"""
from __future__ import annotations

import math
from enum import Enum
from typing import Annotated, Any, Literal, Union

import pydantic
from pydantic import Field, model_validator

SCHEMA_VERSION = 1
FORMAT_NAME = "archsim-trace"


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, defer_build=True)


PositiveInt = Annotated[int, Field(ge=1)]
NonNegInt = Annotated[int, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
TagValue = Union[bool, int, float, str]


class Role(str, Enum):
    """What an operand is to the hardware."""

    static_weight = "static_weight"    # known before inference, stored/programmed once
    dynamic_weight = "dynamic_weight"  # produced at run time, used as the stationary operand (K, V)
    activation = "activation"          # multi-bit data flowing between layers
    spike = "spike"                    # 1 bit per neuron per timestep
    state = "state"                    # neuron state, e.g. membrane potential


class DType(str, Enum):
    float = "float"
    int = "int"
    uint = "uint"
    binary = "binary"


class Granularity(str, Enum):
    tensor = "tensor"
    channel = "channel"
    group = "group"
    token = "token"


class Quant(_Model):
    """How a quantised operand is scaled."""

    granularity: Granularity
    group_size: PositiveInt | None = None       # elements per group along the reduction axis
    dynamic: bool = False                       # scale computed at run time (e.g. per-token A4)
    symmetric: bool = True                      # False: an integer zero point per scale
    scale_bits: PositiveInt = 16                # bits of each stored scale
    zero_point_bits: NonNegInt = 0              # bits of each stored zero point (0 if symmetric)

    @model_validator(mode="after")
    def _group_needs_size(self):
        if (self.granularity == Granularity.group) != (self.group_size is not None):
            raise ValueError("group_size is required exactly when granularity is 'group'")
        return self


class Sparsity(_Model):
    """Sparsity statistics of an operand (fractions are of all elements)."""

    density: Fraction                                    # nonzero elements / all elements
    density_per_timestep: list[Fraction] | None = None   # one entry per timestep
    spike_count_histogram: list[NonNegInt] | None = None # [c] = neurons firing c times in T, c=0..T
    row_nnz: list[NonNegInt] | None = None               # weights: nonzeros per output row (N rows)
    col_nnz: list[NonNegInt] | None = None               # weights: nonzeros per input column (K)


class Histogram(_Model):
    """A value histogram: ``counts[i]`` values fell in ``[edges[i], edges[i+1])``."""

    edges: list[float]
    counts: list[NonNegInt]

    @model_validator(mode="after")
    def _lengths(self):
        if len(self.edges) != len(self.counts) + 1:
            raise ValueError("a histogram needs len(edges) == len(counts) + 1")
        return self


class Operand(_Model):
    name: str
    role: Role
    shape: list[PositiveInt] = Field(min_length=1)   # per timestep, batch included
    dtype: DType = DType.float
    bits: PositiveInt = 16
    quant: Quant | None = None
    sparsity: Sparsity | None = None
    tensor: str | None = None        # key of a stored tensor (see Manifest.tensors)
    histogram: Histogram | None = None

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def density(self) -> float:
        return 1.0 if self.sparsity is None else self.sparsity.density

    @model_validator(mode="after")
    def _spike_bits(self):
        if self.role == Role.spike and (self.dtype != DType.binary or self.bits != 1):
            raise ValueError("a spike operand has dtype 'binary' and bits 1")
        return self


class Gemm(_Model):
    """The GEMM view of a product: ``groups`` independent (M x K) @ (K x N) products."""

    M: PositiveInt
    K: PositiveInt
    N: PositiveInt
    groups: PositiveInt = 1

    @property
    def macs(self) -> int:
        return self.groups * self.M * self.K * self.N


class _Op(_Model):
    id: str = Field(min_length=1)
    inputs: list[str] = Field(default_factory=list)   # ids of producer ops (edges of the graph)
    operands: list[Operand] = Field(default_factory=list)
    output: Operand | None = None
    timesteps: PositiveInt = 1                        # times the op runs per inference (SNN: T)
    tags: dict[str, TagValue] = Field(default_factory=dict)

    def operand(self, name: str) -> Operand:
        for op in self.operands:
            if op.name == name:
                return op
        raise KeyError(f"op {self.id} has no operand '{name}'")

    def has_operand(self, name: str) -> bool:
        return any(o.name == name for o in self.operands)

    @property
    def macs(self) -> int:
        """Dense multiply-accumulates of one timestep (0 for non-GEMM ops)."""
        return 0

    @property
    def elements(self) -> int:
        """Elements a vector unit processes in one timestep (GEMM ops: output elements)."""
        return self.output.numel if self.output is not None else 0

    def _check_shape(self, name: str, expected: list[int]) -> None:
        if self.has_operand(name):
            got = self.operand(name).shape
            if list(got) != list(expected):
                raise ValueError(f"operand '{name}' shape {list(got)} disagrees with the loop bounds "
                                 f"(expected {list(expected)})")

    def _check_output(self, expected: list[int]) -> None:
        if self.output is not None and list(self.output.shape) != list(expected):
            raise ValueError(f"output shape {list(self.output.shape)} disagrees with the loop bounds "
                             f"(expected {list(expected)})")


class _GemmOp(_Op):
    gemm: Gemm | None = None   # filled in from the loop bounds; checked if given

    def _set_gemm(self, computed: Gemm) -> None:
        if self.gemm is not None and self.gemm != computed:
            raise ValueError(f"gemm {self.gemm.model_dump()} disagrees with the loop bounds "
                             f"{computed.model_dump()}")
        object.__setattr__(self, "gemm", computed)

    @property
    def macs(self) -> int:
        return self.gemm.macs if self.gemm else 0


def window_out(size: int, kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> int:
    """Output positions along one axis of a sliding window (convolution, pooling): PyTorch's
    ``(size + 2 pad - dilation (kernel - 1) - 1) // stride + 1``."""
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


class Conv2d(_GemmOp):
    kind: Literal["conv2d"] = "conv2d"
    batch: PositiveInt = 1
    in_channels: PositiveInt
    out_channels: PositiveInt
    in_h: PositiveInt
    in_w: PositiveInt
    kernel_h: PositiveInt
    kernel_w: PositiveInt
    stride_h: PositiveInt = 1
    stride_w: PositiveInt = 1
    pad_h: NonNegInt = 0
    pad_w: NonNegInt = 0
    dilation_h: PositiveInt = 1
    dilation_w: PositiveInt = 1
    groups: PositiveInt = 1

    @property
    def out_h(self) -> int:
        return window_out(self.in_h, self.kernel_h, self.stride_h, self.pad_h, self.dilation_h)

    @property
    def out_w(self) -> int:
        return window_out(self.in_w, self.kernel_w, self.stride_w, self.pad_w, self.dilation_w)

    @model_validator(mode="after")
    def _check(self):
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"in_channels {self.in_channels} and out_channels {self.out_channels} "
                             f"must be multiples of groups {self.groups}")
        if self.out_h < 1 or self.out_w < 1:
            raise ValueError(f"the kernel does not fit the padded input (output {self.out_h}x{self.out_w})")
        self._set_gemm(Gemm(M=self.batch * self.out_h * self.out_w,
                            K=self.in_channels // self.groups * self.kernel_h * self.kernel_w,
                            N=self.out_channels // self.groups, groups=self.groups))
        self._check_shape("input", [self.batch, self.in_channels, self.in_h, self.in_w])
        self._check_shape("weight", [self.out_channels, self.in_channels // self.groups,
                                     self.kernel_h, self.kernel_w])
        self._check_output([self.batch, self.out_channels, self.out_h, self.out_w])
        return self


class Linear(_GemmOp):
    """``tokens`` rows (batch x sequence) times a weight of ``out_features x in_features``."""

    kind: Literal["linear"] = "linear"
    tokens: PositiveInt
    in_features: PositiveInt
    out_features: PositiveInt

    @model_validator(mode="after")
    def _check(self):
        self._set_gemm(Gemm(M=self.tokens, K=self.in_features, N=self.out_features))
        for name, last in (("input", self.in_features),):
            if self.has_operand(name):
                shape = self.operand(name).shape
                if shape[-1] != last or math.prod(shape[:-1]) != self.tokens:
                    raise ValueError(f"operand '{name}' shape {shape} disagrees with the loop bounds "
                                     f"(tokens {self.tokens} x in_features {self.in_features})")
        self._check_shape("weight", [self.out_features, self.in_features])
        if self.output is not None:
            shape = self.output.shape
            if shape[-1] != self.out_features or math.prod(shape[:-1]) != self.tokens:
                raise ValueError(f"output shape {shape} disagrees with the loop bounds "
                                 f"(tokens {self.tokens} x out_features {self.out_features})")
        return self


class Matmul(_GemmOp):
    """``batch`` independent products A (M x K) @ B (K x N), both operands produced at run time
    (e.g. Q @ K^T and A @ V of attention, one product per head)."""

    kind: Literal["matmul"] = "matmul"
    batch: PositiveInt = 1
    M: PositiveInt
    K: PositiveInt
    N: PositiveInt

    @model_validator(mode="after")
    def _check(self):
        self._set_gemm(Gemm(M=self.M, K=self.K, N=self.N, groups=self.batch))
        for name, tail in (("a", [self.M, self.K]), ("b", [self.K, self.N])):
            if self.has_operand(name):
                shape = self.operand(name).shape
                if list(shape[-2:]) != tail or math.prod(shape[:-2]) != self.batch:
                    raise ValueError(f"operand '{name}' shape {shape} disagrees with the loop bounds "
                                     f"(batch {self.batch} x {tail})")
        if self.output is not None:
            shape = self.output.shape
            if list(shape[-2:]) != [self.M, self.N] or math.prod(shape[:-2]) != self.batch:
                raise ValueError(f"output shape {shape} disagrees with the loop bounds "
                                 f"(batch {self.batch} x [{self.M}, {self.N}])")
        return self


class ResetType(str, Enum):
    hard = "hard"          # membrane set to reset_value after a spike
    soft = "soft"          # threshold subtracted after a spike
    multiply = "multiply"  # membrane multiplied by (1 - spike)


class Lif(_Op):
    """Leaky integrate-and-fire update of ``neurons`` neurons (per timestep):
    U[t] = leak * U[t-1] * (1 - reset) + I[t]; spike when U[t] > threshold."""

    kind: Literal["lif"] = "lif"
    neurons: PositiveInt
    threshold: float = 1.0
    leak: float = Field(default=1.0, ge=0.0, le=1.0)   # membrane decay factor per timestep
    reset: ResetType = ResetType.hard
    reset_value: float = 0.0

    @model_validator(mode="after")
    def _check(self):
        for operand in (*self.operands, *( [self.output] if self.output else [])):
            if operand.numel != self.neurons:
                raise ValueError(f"operand '{operand.name}' has {operand.numel} elements, "
                                 f"expected neurons = {self.neurons}")
        return self

    @property
    def elements(self) -> int:
        return self.neurons


class _RowOp(_Op):
    rows: PositiveInt
    cols: PositiveInt   # length of each row (softmax over it, or the normalised size)

    @property
    def elements(self) -> int:
        return self.rows * self.cols

    @model_validator(mode="after")
    def _check(self):
        for operand in (*self.operands, *([self.output] if self.output else [])):
            if operand.numel != self.rows * self.cols:
                raise ValueError(f"operand '{operand.name}' has {operand.numel} elements, "
                                 f"expected rows x cols = {self.rows * self.cols}")
        return self


class Softmax(_RowOp):
    kind: Literal["softmax"] = "softmax"


class LayerNorm(_RowOp):
    kind: Literal["layernorm"] = "layernorm"
    variant: Literal["layer", "rms", "batch", "group"] = "layer"


class _ElementOp(_Op):
    elements_: PositiveInt = Field(alias="elements")

    model_config = pydantic.ConfigDict(populate_by_name=True)

    @property
    def elements(self) -> int:
        return self.elements_

    @model_validator(mode="after")
    def _check(self):
        if self.output is not None and self.output.numel != self.elements_:
            raise ValueError(f"output has {self.output.numel} elements, expected {self.elements_}")
        return self


class Gelu(_ElementOp):
    kind: Literal["gelu"] = "gelu"


class Silu(_ElementOp):
    kind: Literal["silu"] = "silu"


class Add(_ElementOp):
    kind: Literal["add"] = "add"


class Concat(_ElementOp):
    kind: Literal["concat"] = "concat"
    axis: int = 1


class Elementwise(_ElementOp):
    """Any other elementwise function (``function`` names it)."""

    kind: Literal["elementwise"] = "elementwise"
    function: str
    ops_per_element: float = Field(default=1.0, gt=0)


class Pool(_Op):
    kind: Literal["pool"] = "pool"
    mode: Literal["max", "avg"] = "max"
    batch: PositiveInt = 1
    channels: PositiveInt
    in_h: PositiveInt
    in_w: PositiveInt
    kernel_h: PositiveInt
    kernel_w: PositiveInt
    stride_h: PositiveInt = 1
    stride_w: PositiveInt = 1
    pad_h: NonNegInt = 0
    pad_w: NonNegInt = 0

    @property
    def out_h(self) -> int:
        return window_out(self.in_h, self.kernel_h, self.stride_h, self.pad_h)

    @property
    def out_w(self) -> int:
        return window_out(self.in_w, self.kernel_w, self.stride_w, self.pad_w)

    @property
    def elements(self) -> int:
        return self.batch * self.channels * self.out_h * self.out_w

    @model_validator(mode="after")
    def _check(self):
        if self.out_h < 1 or self.out_w < 1:
            raise ValueError("the pooling window does not fit the input")
        self._check_shape("input", [self.batch, self.channels, self.in_h, self.in_w])
        self._check_output([self.batch, self.channels, self.out_h, self.out_w])
        return self


class Unmodelled(_Op):
    """An operation the exporter could not express as one of the kinds above (a transposed or 3-D
    convolution, an unknown aten op...), kept so that no work disappears: ``function`` names it,
    ``dense_macs`` are its multiply-accumulates per timestep (0 when unknown) and ``elements`` its
    output size. No hardware model runs it: simulating a trace that holds one is an error naming it,
    and ``archsim trace info`` shows the share of MACs it holds."""

    kind: Literal["unmodelled"] = "unmodelled"
    function: str
    dense_macs: NonNegInt = 0
    elements_: NonNegInt = Field(default=0, alias="elements")

    model_config = pydantic.ConfigDict(populate_by_name=True)

    @property
    def macs(self) -> int:
        return self.dense_macs

    @property
    def elements(self) -> int:
        return self.elements_


Op = Annotated[Union[Conv2d, Linear, Matmul, Lif, Softmax, LayerNorm, Gelu, Silu, Add, Concat,
                     Elementwise, Pool, Unmodelled], Field(discriminator="kind")]
# kinds hardware models can run; ``unmodelled`` is a valid trace op that none of them runs
OP_KINDS = ("conv2d", "linear", "matmul", "lif", "softmax", "layernorm", "gelu", "silu", "add",
            "concat", "elementwise", "pool")
UNMODELLED_KIND = "unmodelled"
GEMM_KINDS = ("conv2d", "linear", "matmul")


class Provenance(_Model):
    """What in the trace is real. ``weights``: trained | pretrained | random_init | synthetic |
    shape_only; ``inputs``: real | synthetic | none."""

    weights: Literal["trained", "pretrained", "random_init", "synthetic", "shape_only"]
    inputs: Literal["real", "synthetic", "none"]
    notes: str = ""


class Header(_Model):
    model: str = Field(min_length=1)
    source: str = ""                 # paper / frontend that produced it
    dataset: str = ""
    input_description: str = ""
    batch: PositiveInt = 1
    timesteps: PositiveInt = 1       # T of the network (1 for ANNs)
    seed: int = 0                    # seed of every random draw that made the trace
    provenance: Provenance
    metrics: dict[str, float] = Field(default_factory=dict)   # e.g. accuracy measured
    config: dict[str, Any] = Field(default_factory=dict)      # the frontend's settings
    created_by: str = ""


class TensorInfo(_Model):
    """A stored array. ``spikes_packed``: one unsigned word per neuron, bit t = spike at timestep
    t, logical shape [T, *neuron_shape]; ``mask_packed``: numpy.packbits of a boolean array;
    ``dense``: the values themselves."""

    encoding: Literal["dense", "spikes_packed", "mask_packed"]
    shape: list[NonNegInt]     # logical shape of the unpacked tensor
    dtype: str                 # numpy dtype of the stored array


class Manifest(_Model):
    format: Literal["archsim-trace"] = FORMAT_NAME
    schema_version: int = SCHEMA_VERSION
    header: Header
    ops: list[Op]
    tensors: dict[str, TensorInfo] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _graph(self):
        seen: set[str] = set()
        for i, op in enumerate(self.ops):
            if op.id in seen:
                raise ValueError(f"ops[{i}] ({op.id}): duplicate op id")
            for src in op.inputs:
                if src not in seen:
                    raise ValueError(f"ops[{i}] ({op.id}): input '{src}' is not an earlier op "
                                     "(ops must be in topological order)")
            for operand in (*op.operands, *([op.output] if op.output else [])):
                if operand.tensor is not None and operand.tensor not in self.tensors:
                    raise ValueError(f"ops[{i}] ({op.id}): operand '{operand.name}' refers to "
                                     f"missing tensor '{operand.tensor}'")
            seen.add(op.id)
        return self
