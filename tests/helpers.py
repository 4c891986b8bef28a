"""Small builders shared by tests."""
from __future__ import annotations

import textwrap

import numpy as np

from archsim.trace.builder import TraceBuilder
from archsim.trace.schema import Header, Provenance


def header(model="test", T=1, seed=0, **kw):
    return Header(model=model, timesteps=T, seed=seed,
                  provenance=Provenance(weights="synthetic", inputs="synthetic"), **kw)


def builder(T=1, **kw) -> TraceBuilder:
    return TraceBuilder(header(T=T, **kw))


def random_spikes(rng, T, shape, density=0.2):
    return (rng.random((T, *shape)) < density).astype(np.uint8)


def write_file(folder, name: str, text: str):
    """``folder/name`` holding ``text`` (dedented); returns the path."""
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def write_files(folder, files: dict[str, str]):
    """Every ``name: text`` of ``files`` into ``folder`` (dedented); returns the folder."""
    for name, text in files.items():
        write_file(folder, name, text)
    return folder


def hardware_loader(folder, table: str, hw: str):
    """A design in ``folder`` (``table.yaml`` and ``hw.yaml``, written now) and a function
    ``load(**overrides)`` that loads it with dotted-key overrides."""
    from archsim.config.hardware import load_hardware

    write_file(folder, "table.yaml", table)
    path = write_file(folder, "hw.yaml", hw)
    return lambda **over: load_hardware(path, overrides=over)


# A density measured on activations differs between machines by a few flipped elements: float
# convolutions round differently with the CPU's vector width, and a value next to a quantisation
# step or to zero lands on the other side. Goldens of exported traces compare densities within
# this margin (a wrong tensor differs by far more); every other field exactly, floats to 1e-9.
MEASURED_DENSITY_ABS = 5e-3


def golden_mismatches(ours, golden, where: str = "") -> list[str]:
    """Where ``ours`` (nested dicts/lists of JSON values) differs from ``golden``: structure,
    strings, ints and hashes exactly; ``density`` within MEASURED_DENSITY_ABS; other floats to 1e-9."""
    import math

    if isinstance(golden, dict):
        if not isinstance(ours, dict) or set(ours) != set(golden):
            return [f"{where}: keys {sorted(ours) if isinstance(ours, dict) else ours!r} != {sorted(golden)}"]
        return [m for k in golden for m in golden_mismatches(ours[k], golden[k], f"{where}.{k}")]
    if isinstance(golden, list):
        if not isinstance(ours, list) or len(ours) != len(golden):
            return [f"{where}: {ours!r} != golden {golden!r}"]
        return [m for i, (a, b) in enumerate(zip(ours, golden)) for m in golden_mismatches(a, b, f"{where}[{i}]")]
    if isinstance(golden, float) and isinstance(ours, (int, float)) and not isinstance(ours, bool):
        tol = MEASURED_DENSITY_ABS if where.endswith(".density") else 0.0
        return [] if math.isclose(ours, golden, rel_tol=1e-9, abs_tol=tol) else [f"{where}: {ours!r} != golden {golden!r}"]
    return [] if ours == golden and type(ours) is type(golden) else [f"{where}: {ours!r} != golden {golden!r}"]


def golden_maker(name: str):
    """The script ``tests/goldens/<name>.py`` as a module (the goldens' makers are scripts, not a package)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / "goldens" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
