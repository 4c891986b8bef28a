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
