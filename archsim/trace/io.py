"""Reading and writing trace files.

A trace file is a zip archive holding ``manifest.json`` (the :class:`Manifest`) and one
``tensors/<key>.npy`` per stored tensor. Files are written to a temporary name and renamed, so a
failed write never leaves a half-written trace.

Reading is bounded whatever the archive says: the manifest is at most :data:`MAX_MANIFEST_BYTES`
uncompressed; the entries together at most ``ARCHSIM_MAX_TRACE_BYTES`` (default
:data:`DEFAULT_MAX_TRACE_BYTES`), checked from the archive's directory before anything is
decompressed; and each tensor entry's declared size must fit the shape and dtype the manifest
gives it. The manifest's tensor shapes are checked against the operands that use them, and a
float tensor holding NaN or inf is refused with the operand named.
"""
from __future__ import annotations

import io
import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import pydantic

from archsim.errors import TraceError
from archsim.fileio import atomic_path, check_output_file
from archsim.trace.packing import pack_mask, pack_spikes, unpack_mask, unpack_spikes, word_dtype
from archsim.trace.schema import (FORMAT_NAME, SCHEMA_VERSION, Header, Manifest, Operand, TensorInfo)

if TYPE_CHECKING:
    import networkx as nx

MANIFEST = "manifest.json"
MAX_MANIFEST_BYTES = 64 << 20      # a manifest larger than this (uncompressed) is refused
DEFAULT_MAX_TRACE_BYTES = 1 << 30  # all entries of a trace, uncompressed; ARCHSIM_MAX_TRACE_BYTES changes it
MAX_TRACE_BYTES_ENV = "ARCHSIM_MAX_TRACE_BYTES"
NPY_HEADER_SLACK = 1 << 16         # bytes an .npy entry may hold beyond its array data (its header)


def max_trace_bytes() -> int:
    raw = os.environ.get(MAX_TRACE_BYTES_ENV, "")
    if not raw:
        return DEFAULT_MAX_TRACE_BYTES
    try:
        value = int(float(raw))
    except ValueError:
        raise TraceError(f"{MAX_TRACE_BYTES_ENV}={raw!r}: expected a number of bytes") from None
    if value <= 0:
        raise TraceError(f"{MAX_TRACE_BYTES_ENV}={raw!r}: expected a positive number of bytes")
    return value


class Trace:
    """A loaded (or freshly built) trace: the manifest plus its tensors, read lazily."""

    def __init__(self, manifest: Manifest, arrays: dict[str, np.ndarray] | None = None,
                 path: Path | None = None):
        self.manifest = manifest
        self.path = path
        self._arrays: dict[str, np.ndarray] = dict(arrays or {})
        self._by_id = {op.id: op for op in manifest.ops}

    # --- access -------------------------------------------------------------------------------
    @property
    def header(self) -> Header:
        return self.manifest.header

    @property
    def ops(self) -> list:
        return self.manifest.ops

    @property
    def name(self) -> str:
        return self.header.model

    def with_ops(self, ops: list) -> "Trace":
        """A view of this trace holding only ``ops`` (same header, tensors shared: nothing is
        copied or written, and what either reads later is read once)."""
        view = Trace(self.manifest.model_copy(update={"ops": list(ops)}), path=self.path)
        view._arrays = self._arrays
        return view

    def op(self, op_id: str):
        try:
            return self._by_id[op_id]
        except KeyError:
            raise TraceError(f"{self._where()}: no op named '{op_id}'") from None

    def has_tensor(self, operand: Operand) -> bool:
        return operand.tensor is not None

    def stored_array(self, key: str) -> np.ndarray:
        """The array as stored (packed words for spikes)."""
        if key not in self._arrays:
            if key not in self.manifest.tensors:
                raise TraceError(f"{self._where()}: no tensor '{key}'")
            self._arrays[key] = self._read_array(key)
        return self._arrays[key]

    def tensor(self, key: str) -> np.ndarray:
        """The logical tensor: spikes unpacked to ``[T, *neurons]`` uint8, masks to bool."""
        info = self.manifest.tensors[key]
        raw = self.stored_array(key)
        if info.encoding == "spikes_packed":
            return unpack_spikes(raw, info.shape[0])
        if info.encoding == "mask_packed":
            return unpack_mask(raw, tuple(info.shape))
        return raw

    def graph(self) -> "nx.DiGraph":
        """The layer graph: one node per op (attribute ``op``), edges producer -> consumer."""
        import networkx as nx         # here, not at the top: simulating a trace needs no graph

        g = nx.DiGraph()
        for op in self.ops:
            g.add_node(op.id, op=op)
            for src in op.inputs:
                g.add_edge(src, op.id)
        return g

    def _where(self) -> str:
        return str(self.path) if self.path else f"trace '{self.name}'"

    # --- reading ------------------------------------------------------------------------------
    def _read_array(self, key: str) -> np.ndarray:
        info = self.manifest.tensors[key]
        if self.path is None:
            raise TraceError(f"{self._where()}: tensor '{key}' was never stored")
        expected = _stored_shape(info)
        try:
            with zipfile.ZipFile(self.path) as zf:
                entry = zf.getinfo(f"tensors/{key}.npy")
                limit = _stored_bytes(info) + NPY_HEADER_SLACK
                if entry.file_size > limit:
                    raise TraceError(f"{self.path}: tensors.{key}: the archive entry holds {entry.file_size} bytes, "
                                     f"more than the manifest's {info.dtype}{list(expected)} needs ({limit}); "
                                     "not read")
                data = zf.read(entry)
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except (KeyError, zipfile.BadZipFile, ValueError, OSError, EOFError, zlib.error) as exc:
            raise TraceError(f"{self.path}: tensors.{key}: cannot read the stored array ({exc})") from None
        if str(arr.dtype) != info.dtype or list(arr.shape) != list(expected):
            raise TraceError(f"{self.path}: tensors.{key}: stored array is {arr.dtype}{list(arr.shape)}, "
                             f"manifest says {info.dtype}{list(expected)}")
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            users = [f"{op.id}.{o.name}" for op, o in iter_operands(self) if o.tensor == key]
            named = f" (operand {', '.join(users[:3])})" if users else ""
            raise TraceError(f"{self.path}: tensors.{key}{named}: holds NaN or infinite values")
        return arr

    def check_tensors(self) -> None:
        """Read every stored tensor once (``archsim validate`` does this)."""
        for key in self.manifest.tensors:
            self.stored_array(key)

    # --- writing ------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = check_output_file(path, "trace", is_trace_file)
        for key in self.manifest.tensors:   # make sure every array is in memory before writing
            self.stored_array(key)
        with atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
                manifest = self.manifest.model_dump(mode="json", by_alias=True, exclude_none=True)
                zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
                for key in self.manifest.tensors:
                    buf = io.BytesIO()
                    np.save(buf, self._arrays[key], allow_pickle=False)
                    zf.writestr(f"tensors/{key}.npy", buf.getvalue())
        self.path = path
        return path


def is_trace_file(path: Path) -> bool:
    """``path`` is an archsim trace archive (what :meth:`Trace.save` may replace)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(MANIFEST)
        if info.file_size > MAX_MANIFEST_BYTES:
            return False
        return json.loads(zf.read(MANIFEST)).get("format") == FORMAT_NAME


def _stored_shape(info: TensorInfo) -> list[int]:
    if info.encoding == "spikes_packed":
        return list(info.shape[1:])
    if info.encoding == "mask_packed":
        return [(int(np.prod(info.shape)) + 7) // 8]
    return list(info.shape)


def _stored_bytes(info: TensorInfo) -> int:
    """Bytes of the stored array the manifest describes (raises TraceError on a bad dtype)."""
    try:
        dtype = np.dtype(info.dtype)
    except TypeError:
        raise TraceError(f"tensor dtype {info.dtype!r} is not a numpy dtype") from None
    if dtype.hasobject:
        raise TraceError(f"tensor dtype {info.dtype!r}: object arrays are not allowed")
    return int(np.prod(_stored_shape(info), dtype=object)) * dtype.itemsize


def encode_tensor(array: np.ndarray, encoding: str) -> tuple[np.ndarray, TensorInfo]:
    """Prepare ``array`` for storage; returns the stored array and its manifest entry."""
    array = np.asarray(array)
    if encoding == "spikes_packed":
        stored = pack_spikes(array)
        assert stored.dtype == word_dtype(array.shape[0])
    elif encoding == "mask_packed":
        stored = pack_mask(array)
    elif encoding == "dense":
        stored = np.ascontiguousarray(array)
    else:
        raise ValueError(f"unknown tensor encoding {encoding!r}")
    return stored, TensorInfo(encoding=encoding, shape=list(array.shape), dtype=str(stored.dtype))


def load_trace(path: str | Path) -> Trace:
    """Open a trace file; raise TraceError with the file and the problem if it is not a valid
    version-1 trace."""
    path = Path(path)
    if not path.exists():
        raise TraceError(f"{path}: file not found")
    if not path.is_file():
        raise TraceError(f"{path}: not a file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            sizes = {i.filename: i.file_size for i in zf.infolist()}
            if MANIFEST not in names:
                raise TraceError(f"{path}: not an archsim trace (no {MANIFEST} in the archive)")
            total = sum(i.file_size for i in zf.infolist())
            cap = max_trace_bytes()
            if total > cap:
                raise TraceError(f"{path}: the archive expands to {total} bytes, more than the limit of {cap} "
                                 f"(set {MAX_TRACE_BYTES_ENV} to raise it); not read")
            manifest_info = zf.getinfo(MANIFEST)
            if manifest_info.file_size > MAX_MANIFEST_BYTES:
                raise TraceError(f"{path}: {MANIFEST} expands to {manifest_info.file_size} bytes, more than the "
                                 f"limit of {MAX_MANIFEST_BYTES}; not read")
            raw = zf.read(manifest_info)
    except zipfile.BadZipFile as exc:
        raise TraceError(f"{path}: not an archsim trace, or truncated (not a readable zip archive: {exc})") from None
    except (OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise TraceError(f"{path}: corrupt trace ({exc})") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise TraceError(f"{path}: {MANIFEST}: not valid JSON ({exc})") from None
    manifest = parse_manifest(data, str(path))
    missing = [k for k in manifest.tensors if f"tensors/{k}.npy" not in names]
    if missing:
        raise TraceError(f"{path}: tensors.{missing[0]}: listed in the manifest but not in the archive")
    for key, info in manifest.tensors.items():      # declared sizes, from the archive's directory
        declared = sizes[f"tensors/{key}.npy"]
        limit = _stored_bytes(info) + NPY_HEADER_SLACK
        if declared > limit:
            raise TraceError(f"{path}: tensors.{key}: the archive entry holds {declared} bytes, more than the "
                             f"manifest's {info.dtype}{_stored_shape(info)} needs ({limit}); not read")
    return Trace(manifest, path=path)


def parse_manifest(data: Any, where: str) -> Manifest:
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise TraceError(f"{where}: not an archsim trace (format is {data.get('format') if isinstance(data, dict) else None!r}, "
                         f"expected '{FORMAT_NAME}')")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise TraceError(f"{where}: schema_version: expected the integer {SCHEMA_VERSION}, got {version!r}"[:200])
    if version > SCHEMA_VERSION:
        raise TraceError(f"{where}: schema_version {version} is newer than this archsim supports "
                         f"({SCHEMA_VERSION}); upgrade archsim")
    if version != SCHEMA_VERSION:
        raise TraceError(f"{where}: schema_version {version} is not a trace format version "
                         f"(this archsim reads version {SCHEMA_VERSION})")
    try:
        manifest = Manifest.model_validate(data)
    except pydantic.ValidationError as exc:
        raise TraceError("\n".join(_describe(err, data, where) for err in exc.errors())) from None
    except (ArithmeticError, IndexError, KeyError, TypeError, RecursionError) as exc:   # a validator tripped
        raise TraceError(f"{where}: manifest: inconsistent values ({type(exc).__name__}: {exc})"[:300]) from None
    check_manifest(manifest, where)
    return manifest


def check_manifest(manifest: Manifest, where: str) -> None:
    """What the schema cannot see alone: a trace has ops; every stored tensor's dtype is a plain
    numpy dtype; its logical shape is its operand's shape, or ``[timesteps, *shape]``."""
    if not manifest.ops:
        raise TraceError(f"{where}: ops: the trace has no operations (an empty trace simulates to nothing)")
    for key, info in manifest.tensors.items():
        try:
            _stored_bytes(info)
        except TraceError as exc:
            raise TraceError(f"{where}: tensors.{key}: {exc}") from None
    for i, op in enumerate(manifest.ops):
        for o in (*op.operands, *([op.output] if op.output else [])):
            if o.tensor is None:
                continue
            shape = list(manifest.tensors[o.tensor].shape)
            if shape != list(o.shape) and shape != [op.timesteps, *o.shape]:
                raise TraceError(f"{where}: ops[{i}] ({op.id}): operand '{o.name}': stored tensor "
                                 f"'{o.tensor}' has shape {shape}, expected {list(o.shape)} or "
                                 f"[timesteps={op.timesteps}, *{list(o.shape)}]")


def _describe(err: dict, data: dict, where: str) -> str:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p in _kind_names())]
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            if text.startswith("ops[") and text.count("[") == 1:
                ops = data.get("ops") or []
                if part < len(ops) and isinstance(ops[part], dict) and "id" in ops[part]:
                    text += f" ({ops[part]['id']})"
        else:
            text += f".{part}" if text else str(part)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] not in ("value_error", "assertion_error"):
        msg += f", got {err.get('input')!r}"[:80]
    return f"{where}: {text or 'manifest'}: {msg}"


def _kind_names() -> set[str]:
    from archsim.trace.schema import OP_KINDS, UNMODELLED_KIND
    return {*OP_KINDS, UNMODELLED_KIND}


def iter_operands(trace: Trace) -> Iterator[tuple[Any, Operand]]:
    for op in trace.ops:
        for operand in op.operands:
            yield op, operand
        if op.output is not None:
            yield op, op.output
