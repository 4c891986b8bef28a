"""archsim: a simulator for efficient-AI accelerators (spiking, dual-sparse, quantized and
memristive in-memory computing).

    import archsim
    result = archsim.simulate("examples/tiny_snn.yaml", "hw_configs/mac_array_example.yaml")
    print(result["latency_s"], result["energy_j"])
    cheaper = archsim.price(result, "other_tables.yaml")      # re-priced, not re-simulated

The public names are below (``__all__``) and documented in docs/api.md. They load on first use,
so ``import archsim`` stays cheap (no pandas, Numba or torch); type checkers and IDEs see them
through the ``TYPE_CHECKING`` imports. This package never imports torch; the PyTorch frontends
live in ``workloads``.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from archsim.api import load_hardware, load_trace, price, reproduce, simulate, sweep
    from archsim.config.hardware import Hardware
    from archsim.energy.table import EnergyTable
    from archsim.errors import ArchsimError
    from archsim.result import Counts, Result
    from archsim.trace.io import Trace

# public name -> module that defines it
_EXPORTS = {
    "simulate": "archsim.api", "price": "archsim.api", "sweep": "archsim.api", "reproduce": "archsim.api",
    "load_trace": "archsim.api", "load_hardware": "archsim.api",
    "Result": "archsim.result", "Trace": "archsim.trace.io", "Hardware": "archsim.config.hardware",
    "EnergyTable": "archsim.energy.table", "Counts": "archsim.result", "ArchsimError": "archsim.errors",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'archsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value          # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
