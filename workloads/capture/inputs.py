"""What ``archsim-workloads trace`` runs: the user's model (``file.py:function``), its input (a
tiny grammar, never ``eval``), an optional checkpoint and an optional batch of a data set."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

_SPEC = re.compile(r"^\s*(randn|rand|zeros|ones)\s*\(\s*(\d+(?:\s*,\s*\d+)*)\s*,?\s*\)\s*$")
MAX_INPUT_ELEMENTS = 64 * 2 ** 20


def parse_input(spec: str, seed: int = 0) -> tuple[torch.Tensor, str, str]:
    """``randn(1,3,32,32)``, ``rand(...)``, ``zeros(...)``, ``ones(...)`` (integer dimensions), or a
    ``.npy`` / ``.pt`` file holding one tensor. Returns the tensor, its description and its
    provenance (``synthetic`` for the generated ones, ``real`` for a file)."""
    m = _SPEC.match(spec)
    if m:
        fn, dims = m.group(1), [int(d) for d in m.group(2).split(",")]
        if any(d < 1 for d in dims) or int(np.prod(dims)) > MAX_INPUT_ELEMENTS:
            raise ValueError(f"--input {spec!r}: dimensions must be >= 1 and hold at most {MAX_INPUT_ELEMENTS} elements")
        g = torch.Generator().manual_seed(seed)
        x = {"randn": lambda: torch.randn(*dims, generator=g), "rand": lambda: torch.rand(*dims, generator=g),
             "zeros": lambda: torch.zeros(*dims), "ones": lambda: torch.ones(*dims)}[fn]()
        return x, f"{fn}({', '.join(map(str, dims))})" + (f", seed {seed}" if fn.startswith("rand") else ""), \
            "synthetic"
    path = Path(spec)
    if path.suffix in (".npy", ".pt", ".pth"):
        if not path.is_file():
            raise ValueError(f"--input {spec}: file not found")
        if path.suffix == ".npy":
            try:
                x = torch.from_numpy(np.load(path, allow_pickle=False))
            except Exception as exc:
                raise ValueError(f"--input {spec}: not a readable .npy array ({type(exc).__name__})") from None
        else:
            try:
                x = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:
                raise ValueError(f"--input {spec}: not a loadable tensor file ({type(exc).__name__})") from None
            if not isinstance(x, torch.Tensor):
                raise ValueError(f"--input {spec}: the file must hold one tensor, found {type(x).__name__}")
        return x.float() if x.is_floating_point() else x, f"tensor {list(x.shape)} from {path.name}", "real"
    raise ValueError(f"--input {spec!r}: expected randn(d0,d1,...), rand(...), zeros(...), ones(...) with "
                     "integer dimensions, or a .npy / .pt file")


def load_builder(target: str):
    """``path/to/file.py:function`` -> the function (the file is imported as a module)."""
    file, sep, fn = target.rpartition(":")
    if not sep or not file or not fn.isidentifier():
        raise ValueError(f"{target!r}: expected FILE.py:FUNCTION")
    path = Path(file)
    if not path.is_file():
        raise ValueError(f"{target}: file {file} not found")
    name = f"_archsim_user_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    builder = getattr(module, fn, None)
    if not callable(builder):
        raise ValueError(f"{target}: {file} has no function {fn}")
    return builder


def build_model(target: str) -> nn.Module:
    model = load_builder(target)()
    if not isinstance(model, nn.Module):
        raise ValueError(f"{target} returned {type(model).__name__}, not a torch.nn.Module")
    return model


def load_checkpoint(model: nn.Module, path: str) -> None:
    """A state dict (or a dict holding one under ``state_dict`` / ``model``), loaded strictly."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--checkpoint {path}: file not found")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:   # not a torch file, or one holding more than tensors
        raise ValueError(f"--checkpoint {path}: not a loadable state dict ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0][:100]})") from None
    if isinstance(state, dict):
        for key in ("state_dict", "model", "model_state_dict"):
            if key in state and isinstance(state[key], dict):
                state = state[key]
                break
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"--checkpoint {path}: does not fit the model: {str(exc).splitlines()[0]}") from None


def dataset_batch(name: str, start: int, batch: int, like: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Test images ``[start, start + batch)`` of a data set (workloads.data), sized like ``like``
    (``[B, C, H, W]``: channels and side taken from it)."""
    from workloads.data import load

    if like.dim() != 4 or like.shape[2] != like.shape[3]:
        raise ValueError(f"--dataset needs a square image input [B, C, H, W], got --input shape {list(like.shape)}")
    x, _ = load(name, "test", size=int(like.shape[2]), channels=int(like.shape[1]), limit=start + batch)
    x = torch.from_numpy(np.ascontiguousarray(x[start:start + batch]))
    if len(x) < batch:
        raise ValueError(f"--dataset {name}: the test split has no images [{start}:{start + batch}]")
    return x.float(), f"{name} test[{start}:{start + batch}]"
