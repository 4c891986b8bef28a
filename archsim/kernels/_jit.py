"""The one place that sets Numba's flags and registers kernels with their numpy references.

Every kernel is declared with :func:`kernel`, naming the plain-numpy reference of the same math::

    def pair_count_reference(a, b): ...          # the specification: small and readable

    @kernel(reference=pair_count_reference)
    def _pair_count_kernel(a, b): ...             # the speed

The registry lets the house-rules test check that each kernel has a reference, and the tests
compare the two on random and edge-case inputs. ``ARCHSIM_DISABLE_JIT=1`` (or Numba's own
``NUMBA_DISABLE_JIT=1``) runs the kernels as plain Python, for coverage and debugging.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

DISABLE_JIT = os.environ.get("ARCHSIM_DISABLE_JIT") == "1" or os.environ.get("NUMBA_DISABLE_JIT") == "1"
FLAGS = {"cache": True, "nogil": True, "fastmath": False, "error_model": "numpy"}


@dataclass(frozen=True)
class Kernel:
    name: str
    module: str
    compiled: Callable
    reference: Callable


KERNELS: dict[str, Kernel] = {}


def kernel(reference: Callable, **extra_flags) -> Callable[[Callable], Callable]:
    """Compile ``fn`` with the house flags and register it beside ``reference``."""

    def wrap(fn: Callable) -> Callable:
        if DISABLE_JIT:
            compiled = fn
        else:
            import numba
            compiled = numba.njit(**{**FLAGS, **extra_flags})(fn)
        key = f"{fn.__module__}.{fn.__name__}"
        KERNELS[key] = Kernel(name=fn.__name__, module=fn.__module__, compiled=compiled, reference=reference)
        return compiled

    return wrap


BACKENDS = ("numba", "reference")


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend
