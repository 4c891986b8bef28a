"""Small builders shared by tests."""
from __future__ import annotations

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
