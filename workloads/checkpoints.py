"""The frontends' one checkpoint store: a local cache in front of the project's committed checkpoints.

Every trained model (the registry's, the small ViT, StableQ's FP ResNet-18) is stored and found
here by name + configuration key (the stem ``<name>-<key>``). :func:`load` looks up:

1. the local cache, ``data/checkpoints/<name>-<key>.pt`` (git-ignored; ``ARCHSIM_CHECKPOINT_DIR``
   moves it): what this machine trained or unpacked, as the caller saved it with :func:`save`
   (a ``torch.save`` of a dict of tensors, read with ``weights_only``; optionally a JSON record
   ``<name>-<key>.json`` beside it), both written atomically;
2. the committed checkpoints, ``checkpoints/`` in the repository (``ARCHSIM_COMMITTED_DIR`` moves
   it): models the project trained once, stored compressed, each with its provenance;
3. otherwise None: the caller trains and saves.

A committed checkpoint is two files, ``<name>-<key>.npz`` and ``<name>-<key>.json``. The ``.npz``
holds the state dict: a pruned tensor as its mask (``np.packbits``) and the kept values; floating
parameters in float16 (``lossy`` in the provenance says so), buffers (batch-norm statistics,
counters) exact. The ``.json`` is the provenance: the model, the training configuration and its
key, the seed, the command that made it, the device, the wall time, torch's version, and the
metrics *measured on the stored (decompressed) model*, so a number in the report is the number of
the model that ships. The key is the configuration's hash: when the registry's configuration of a
model changes, its committed checkpoint no longer matches (``tests/workloads/test_checkpoints.py``
fails on such a stale file).
"""
from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archsim.fileio import atomic_path, atomic_write_text

REPO = Path(__file__).resolve().parents[1]
FORMAT_VERSION = 1


def local_dir() -> Path:
    return Path(os.environ.get("ARCHSIM_CHECKPOINT_DIR", REPO / "data" / "checkpoints"))


def committed_dir() -> Path:
    return Path(os.environ.get("ARCHSIM_COMMITTED_DIR", REPO / "checkpoints"))


def stem(name: str, key: str) -> str:
    return f"{name}-{key}"


# --- the local cache -----------------------------------------------------------------------------

def local_path(name: str, key: str, directory: Path | None = None) -> Path:
    """Where the local cache keeps ``name``'s checkpoint for configuration ``key``."""
    return Path(directory or local_dir()) / f"{stem(name, key)}.pt"


def save(name: str, key: str, blob: dict[str, Any], *, record: dict[str, Any] | None = None,
         directory: Path | None = None) -> Path:
    """Store ``blob`` (``torch.save``) in the local cache, and ``record`` as JSON beside it; each
    file atomically (concurrent stages may save the same model). Returns the ``.pt`` path."""
    path = local_path(name, key, directory)
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    if record is not None:
        atomic_write_text(path.with_suffix(".json"), json.dumps(record, indent=1))
    return path


@dataclass
class Stored:
    """A checkpoint found by :func:`load`. Local: ``blob`` as saved (and ``record``, when asked
    for), ``path`` the ``.pt``. Committed: the unpacked ``state`` and ``masks`` and the
    ``provenance``; ``path`` is None."""

    blob: Any = None
    record: dict | None = None
    path: Path | None = None
    state: dict | None = None
    masks: dict | None = None
    provenance: dict | None = None

    @property
    def committed(self) -> bool:
        return self.provenance is not None


def load(name: str, key: str, *, directory: Path | None = None, record: bool = False,
         committed: bool = True) -> Stored | None:
    """``name``'s checkpoint for ``key``: from the local cache (with its JSON record: ``record``,
    which must then exist too), else from the committed checkpoints (``committed``), else None."""
    path = local_path(name, key, directory)
    meta = path.with_suffix(".json")
    if path.exists() and (meta.exists() or not record):
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            rec = json.loads(meta.read_text()) if record else None
        except Exception as exc:     # truncated file, another version's keys, ...
            raise ValueError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {str(exc)[:200]}); "
                             "delete it or retrain with --retrain") from None
        return Stored(blob=blob, record=rec, path=path)
    found = find(name, key) if committed else None
    if found is None:
        return None
    state, masks, prov = found
    return Stored(state=state, masks=masks, provenance=prov)


# --- packing -------------------------------------------------------------------------------------

def pack(state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor] | None = None,
         lossy: bool = True) -> dict[str, np.ndarray]:
    """State dict -> arrays for ``np.savez_compressed``. A tensor with a mask (``masks`` keyed by
    state-dict name) keeps only its mask bits and kept values. ``lossy``: floating *parameters*
    as float16 (buffers such as batch-norm running statistics stay exact)."""
    masks = masks or {}
    out: dict[str, np.ndarray] = {}
    for name, t in state.items():
        a = t.detach().cpu().numpy()
        dtype = np.float16 if (lossy and a.dtype == np.float32 and "running_" not in name) else a.dtype
        out[f"{name}::shape"] = np.asarray(a.shape, dtype=np.int64)
        out[f"{name}::dtype"] = np.frombuffer(str(a.dtype).encode(), dtype=np.uint8)
        if name in masks:
            m = masks[name].detach().cpu().numpy().astype(bool).ravel()
            out[f"{name}::mask"] = np.packbits(m)
            out[f"{name}::values"] = a.ravel()[m].astype(dtype)
        else:
            out[f"{name}::values"] = a.ravel().astype(dtype)
    return out


def unpack(arrays: dict[str, np.ndarray]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Arrays from :func:`pack` -> (state dict, masks)."""
    names = sorted({k.rsplit("::", 1)[0] for k in arrays})
    state: dict[str, torch.Tensor] = {}
    masks: dict[str, torch.Tensor] = {}
    for name in names:
        shape = tuple(int(s) for s in arrays[f"{name}::shape"])
        dtype = np.dtype(bytes(arrays[f"{name}::dtype"]).decode())
        values = arrays[f"{name}::values"].astype(dtype)
        n = int(np.prod(shape))
        if f"{name}::mask" in arrays:
            m = np.unpackbits(arrays[f"{name}::mask"], count=n).astype(bool)
            full = np.zeros(n, dtype=dtype)
            full[m] = values
            masks[name] = torch.from_numpy(m.reshape(shape).copy())
            values = full
        state[name] = torch.from_numpy(values.reshape(shape).copy())
    return state, masks


def round_trip(state: dict[str, torch.Tensor], masks: dict[str, torch.Tensor] | None = None,
               lossy: bool = True) -> dict[str, torch.Tensor]:
    """The state dict as it comes back from a committed checkpoint (what the provenance's
    metrics must be measured on)."""
    return unpack(pack(state, masks, lossy))[0]


# --- the store -----------------------------------------------------------------------------------

def commit(name: str, key: str, state: dict[str, torch.Tensor], provenance: dict[str, Any],
           masks: dict[str, torch.Tensor] | None = None, lossy: bool = True,
           directory: Path | None = None) -> Path:
    """Write a committed checkpoint (``.npz`` + provenance ``.json``), atomically."""
    d = Path(directory or committed_dir())
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{stem(name, key)}.npz"
    buf = io.BytesIO()
    np.savez_compressed(buf, **pack(state, masks, lossy))
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(buf.getvalue())
    meta = {"format": FORMAT_VERSION, "name": name, "key": key, "lossy": lossy,
            "bytes": path.stat().st_size, **provenance}
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1, sort_keys=True, default=str) + "\n")
    return path


def find(name: str, key: str, directory: Path | None = None):
    """``(state, masks, provenance)`` of a committed checkpoint, or None."""
    d = Path(directory or committed_dir())
    npz, meta = d / f"{stem(name, key)}.npz", d / f"{stem(name, key)}.json"
    if not (npz.exists() and meta.exists()):
        return None
    try:
        with np.load(npz, allow_pickle=False) as z:
            state, masks = unpack({k: z[k] for k in z.files})
        prov = json.loads(meta.read_text())
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{npz}: unreadable committed checkpoint ({type(exc).__name__}: {exc}); "
                         "rebuild it with `archsim-workloads train --all --commit`") from None
    return state, masks, prov


def entries(directory: Path | None = None) -> list[dict[str, Any]]:
    """The provenance of every committed checkpoint, sorted by file name."""
    d = Path(directory or committed_dir())
    return [json.loads(p.read_text()) for p in sorted(d.glob("*.json"))] if d.is_dir() else []
