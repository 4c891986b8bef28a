"""Build traces in Python: the API the workload frontends and the YAML layer-list converter use.

    b = TraceBuilder(Header(model="tiny", timesteps=4, provenance=...))
    x = b.operand("input", Role.spike, data=spikes)            # stats computed, tensor stored
    w = b.operand("weight", Role.static_weight, data=weights, bits=8)
    b.add("conv2d", "conv1", operands=[x, w], in_channels=3, ...)
    trace = b.build()

Operand statistics (density, per-timestep density, spike-count histogram, per-row nonzeros) are
computed from the data when data is given, so every frontend reports them the same way.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np
import pydantic

from archsim.errors import TraceError
from archsim.trace.io import Trace, encode_tensor
from archsim.trace.schema import (DType, Header, Manifest, Operand, Quant, Role, Sparsity, TensorInfo)
from archsim.trace.stats import activation_sparsity, spike_sparsity, weight_sparsity

_OP_ADAPTER = None


def _op_adapter():
    global _OP_ADAPTER
    if _OP_ADAPTER is None:
        from archsim.trace.schema import Op
        _OP_ADAPTER = pydantic.TypeAdapter(Op)
    return _OP_ADAPTER


class TraceBuilder:
    def __init__(self, header: Header):
        self.header = header
        self.ops: list[Any] = []
        self.tensors: dict[str, TensorInfo] = {}
        self.arrays: dict[str, np.ndarray] = {}
        self._pending: list[tuple[str, np.ndarray, str]] = []

    @property
    def last_id(self) -> str | None:
        return self.ops[-1].id if self.ops else None

    def operand(self, name: str, role: Role | str, *, data: np.ndarray | None = None,
                shape: list[int] | None = None, bits: int | None = None, dtype: DType | str | None = None,
                quant: Quant | None = None, sparsity: Sparsity | None = None, store: bool | None = None,
                timesteps: int | None = None, histogram: Any = None) -> Operand:
        """Describe one operand. For a spike operand ``data`` is ``[T, *shape]`` of 0/1; for a
        weight it is the weight itself; for an activation ``[T, *shape]`` when T > 1, else
        ``shape``. ``store`` (default: spikes and weights yes, activations no) keeps the tensor
        in the trace."""
        role = Role(role)
        T = timesteps or self.header.timesteps
        if role == Role.spike:
            dtype, bits = DType.binary, 1
        if data is not None:
            data = np.asarray(data)
            if role == Role.spike:
                if data.ndim < 2:
                    raise TraceError(f"operand {name}: spike data needs shape [T, *neurons]")
                shape = shape or list(data.shape[1:])
                sparsity = sparsity or spike_sparsity(data)
            elif role in (Role.static_weight, Role.dynamic_weight):
                shape = shape or list(data.shape)
                sparsity = sparsity or weight_sparsity(data)
            else:
                lead = 1 if (T > 1 and data.ndim == len(shape or data.shape[1:]) + 1
                             and data.shape[0] == T) else 0
                shape = shape or list(data.shape[lead:])
                sparsity = sparsity or activation_sparsity(data, T if lead else 1)
        if shape is None:
            raise TraceError(f"operand {name}: give data or a shape")
        tensor_key = None
        want_store = store if store is not None else role in (Role.spike, Role.static_weight)
        if data is not None and want_store:
            tensor_key = self._store(name, data, "spikes_packed" if role == Role.spike else "dense")
        return Operand(name=name, role=role, shape=[int(s) for s in shape],
                       dtype=DType(dtype) if dtype is not None else _default_dtype(data, role),
                       bits=int(bits if bits is not None else _default_bits(data, role)),
                       quant=quant, sparsity=sparsity, tensor=tensor_key, histogram=histogram)

    def _store(self, name: str, data: np.ndarray, encoding: str) -> str:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{len(self.ops)}_{name}")
        key = stem
        n = 1
        while key in self.tensors or key in {k for k, _, _ in self._pending}:
            n += 1
            key = f"{stem}_{n}"
        self._pending.append((key, data, encoding))
        return key

    def add(self, kind: str, op_id: str, *, inputs: list[str] | None = None, **fields: Any):
        """Append an operation; ``inputs`` defaults to the previous op. Fields are those of the
        op kind in :mod:`archsim.trace.schema`."""
        if inputs is None:
            inputs = [self.last_id] if self.last_id else []
        fields.setdefault("timesteps", self.header.timesteps)
        try:
            op = _op_adapter().validate_python({"kind": kind, "id": op_id, "inputs": inputs, **fields})
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"][1:]) or kind
            raise TraceError(f"op {op_id}: {where}: {first['msg'].removeprefix('Value error, ')}") from None
        for key, data, encoding in self._pending:
            stored, info = encode_tensor(data, encoding)
            self.tensors[key], self.arrays[key] = info, stored
        self._pending.clear()
        self.ops.append(op)
        return op

    def build(self) -> Trace:
        try:
            manifest = Manifest(header=self.header, ops=self.ops, tensors=self.tensors)
        except pydantic.ValidationError as exc:
            raise TraceError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return Trace(manifest, arrays=self.arrays)


def _default_dtype(data: np.ndarray | None, role: Role) -> DType:
    if data is None:
        return DType.int if role in (Role.static_weight, Role.dynamic_weight) else DType.float
    if np.issubdtype(data.dtype, np.floating):
        return DType.float
    return DType.uint if np.issubdtype(data.dtype, np.unsignedinteger) else DType.int


def _default_bits(data: np.ndarray | None, role: Role) -> int:
    if data is None:
        return 8 if role in (Role.static_weight, Role.dynamic_weight) else 16
    return 32 if data.dtype.itemsize >= 4 and np.issubdtype(data.dtype, np.floating) else data.dtype.itemsize * 8
