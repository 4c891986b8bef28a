"""Sparsity statistics computed from real tensors (the frontends and the synthetic generator
share these definitions)."""
from __future__ import annotations

import numpy as np

from archsim.trace.schema import Sparsity


def spike_sparsity(spikes: np.ndarray) -> Sparsity:
    """Statistics of a ``[T, *neurons]`` 0/1 tensor: density, density per timestep, and the
    histogram over neurons of the number of spikes in T (index c = neurons firing c times)."""
    spikes = np.asarray(spikes)
    T = spikes.shape[0]
    flat = spikes.reshape(T, -1)
    per_t = flat.mean(axis=1) if flat.shape[1] else np.zeros(T)
    counts = flat.sum(axis=0).astype(np.int64)
    hist = np.bincount(counts, minlength=T + 1)[: T + 1]
    return Sparsity(density=float(per_t.mean()), density_per_timestep=[float(d) for d in per_t],
                    spike_count_histogram=[int(h) for h in hist])


def activation_sparsity(values: np.ndarray, timesteps: int = 1) -> Sparsity:
    """Density of nonzeros; with ``timesteps > 1`` the leading axis is time."""
    values = np.asarray(values)
    if timesteps > 1:
        per_t = (values.reshape(timesteps, -1) != 0).mean(axis=1)
        return Sparsity(density=float(per_t.mean()), density_per_timestep=[float(d) for d in per_t])
    return Sparsity(density=float((values != 0).mean()) if values.size else 0.0)


def weight_sparsity(weight: np.ndarray) -> Sparsity:
    """Density, nonzeros per output row (axis 0) and per input column of the GEMM view
    ``[out, in*kh*kw]``."""
    weight = np.asarray(weight)
    nz = (weight.reshape(weight.shape[0], -1) != 0)
    return Sparsity(density=float(nz.mean()) if nz.size else 0.0,
                    row_nnz=[int(v) for v in nz.sum(axis=1)],
                    col_nnz=[int(v) for v in nz.sum(axis=0)])
