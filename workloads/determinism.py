"""Training and evaluation that give the same bits on any machine with the same seed.

A float sum split over N threads is summed in an order that depends on N, so the same seed
trained with 1 and with 2 intra-op threads ends in different weights (and, after a few epochs,
different accuracies). :func:`pinned` fixes the thread count for the duration of a training or
evaluation call (:data:`TRAIN_THREADS`, or ``ARCHSIM_TORCH_THREADS``), turns on
``torch.use_deterministic_algorithms`` and restores both afterwards. Data order comes from seeded
``torch.Generator`` permutations in the training loops, never from the global generator or a
multi-worker loader.

On a GPU bit-identity is not the goal (cuDNN and cuBLAS sum in orders of their own, and some
backward kernels have no deterministic version at all): :func:`accelerated` turns deterministic
algorithms off there and lets cuDNN pick its fastest kernels. A CUDA run agrees with the CPU run
of the same configuration within the tolerance that ``tools/cuda_check.py`` states and checks.
"""
from __future__ import annotations

import contextlib
import os

import torch

TRAIN_THREADS = 2     # fixed: the results must not depend on how many cores the machine has


def train_threads() -> int:
    raw = os.environ.get("ARCHSIM_TORCH_THREADS")
    if raw is None:
        return TRAIN_THREADS
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"ARCHSIM_TORCH_THREADS: expected a positive integer, got {raw!r}")
    return n


@contextlib.contextmanager
def pinned(threads: int | None = None):
    """Fixed intra-op thread count and deterministic algorithms inside the block."""
    n = train_threads() if threads is None else threads
    before_threads = torch.get_num_threads()
    before_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(n)
    # cuBLAS needs a fixed workspace for deterministic GEMMs (else a CUDA run raises)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    try:
        yield n
    finally:
        torch.set_num_threads(before_threads)
        torch.use_deterministic_algorithms(before_det)


def deterministic(fn):
    """Decorator: run ``fn`` inside :func:`pinned` (the default thread count)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with pinned():
            return fn(*args, **kwargs)
    return wrapper


@contextlib.contextmanager
def accelerated(device: torch.device):
    """Inside a :func:`pinned` block: on CUDA, the fast (non-deterministic) kernels, TF32 matrix
    products and cuDNN's autotuner; on the CPU nothing changes."""
    if device.type != "cuda":
        yield
        return
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark,
              torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.benchmark = before[1]
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before[2], before[3]
