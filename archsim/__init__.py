"""archsim: a simulator for efficient-AI accelerators (spiking, dual-sparse, quantized and
memristive in-memory computing).

    import archsim
    result = archsim.simulate("model.trace", "hw_configs/mac_array_example.yaml")
    print(result["latency_s"], result["energy_j"])

This package never imports torch; the PyTorch frontends live in ``workloads``.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["simulate", "load_trace", "load_hardware", "Result", "Trace", "__version__"]


def __getattr__(name: str):
    # lazy imports keep `import archsim` (and `archsim --help`) fast
    if name == "simulate":
        from archsim.engine import simulate
        return simulate
    if name == "load_trace":
        from archsim.trace.io import load_trace
        return load_trace
    if name == "Trace":
        from archsim.trace.io import Trace
        return Trace
    if name == "load_hardware":
        from archsim.config.hardware import load_hardware
        return load_hardware
    if name == "Result":
        from archsim.result import Result
        return Result
    raise AttributeError(f"module 'archsim' has no attribute {name!r}")
