"""``--device auto|cpu|cuda`` for every frontend. The device never enters a checkpoint's key:
a model trained on a GPU and one trained on the CPU from the same configuration are the same
entry of the cache (their numbers agree within the tolerance tools/cuda_check.py states)."""
from __future__ import annotations

import torch

CHOICES = ("auto", "cpu", "cuda")
_DEFAULT = ["auto"]       # what ``None`` means: set once by a frontend's --device option


def set_default(name: str) -> None:
    """The device every trainer uses when its caller names none (each frontend's ``--device``)."""
    resolve(name)          # refuse a bad or unavailable device up front
    _DEFAULT[0] = name


def add_argument(parser) -> None:
    """The ``--device`` option, the same in every frontend's command line."""
    parser.add_argument("--device", choices=CHOICES, default="auto",
                        help="where to train and evaluate (default auto: CUDA when present); "
                             "never part of a checkpoint's key")


def resolve(name: str | torch.device | None = "auto") -> torch.device:
    """``auto``: CUDA when a GPU is visible, else the CPU. Asking for ``cuda`` without one is an
    error, never a quiet fallback."""
    if isinstance(name, torch.device):
        return name
    name = name or _DEFAULT[0]
    if name not in CHOICES:
        raise ValueError(f"--device: expected one of {', '.join(CHOICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is visible to torch on this machine")
    return torch.device(name)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return "cpu"
