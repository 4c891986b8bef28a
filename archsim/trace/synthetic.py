"""Deterministic synthetic tensors from recorded statistics.

When a trace carries statistics but no tensors, cycle-level models still need concrete spikes
and weights. These generators reproduce the statistics exactly where they can (the spike-count
histogram, per-row nonzeros) and approximately otherwise (per-timestep density), with every draw
seeded. Placement of spikes and nonzeros inside a tensor is uniformly random: real tensors have
spatial structure that these do not.
"""
from __future__ import annotations

import zlib

import numpy as np

from archsim.trace.schema import Operand, Role, Sparsity


def seed_for(seed: int, *names: str) -> int:
    """A stable per-tensor seed (independent of Python's hash randomisation)."""
    return zlib.crc32("/".join([str(seed), *names]).encode())


def synthetic_spikes(neurons: int, timesteps: int, sparsity: Sparsity | None,
                     rng: np.random.Generator) -> np.ndarray:
    """``[T, neurons]`` uint8 spikes. With a spike-count histogram, exactly ``hist[c]`` neurons
    fire ``c`` times (scaled to ``neurons`` if the histogram counted another population); the
    timesteps each neuron fires at are drawn with probability proportional to the recorded
    per-timestep density. Without a histogram, each spike is Bernoulli(density)."""
    T = timesteps
    density = 0.0 if sparsity is None else sparsity.density
    per_t = np.full(T, density) if sparsity is None or sparsity.density_per_timestep is None \
        else np.asarray(sparsity.density_per_timestep, dtype=float)
    if len(per_t) != T:
        per_t = np.full(T, density)
    hist = None if sparsity is None else sparsity.spike_count_histogram
    if hist is None or len(hist) != T + 1:
        return (rng.random((T, neurons)) < per_t[:, None]).astype(np.uint8)
    counts = _counts_from_histogram(np.asarray(hist, dtype=float), neurons, rng)
    weights = per_t + 1e-12
    out = np.zeros((T, neurons), dtype=np.uint8)
    # Gumbel top-c trick: the c largest of log(w_t) + Gumbel noise are a weighted sample of c
    # distinct timesteps without replacement.
    keys = np.log(weights)[:, None] + rng.gumbel(size=(T, neurons))
    order = np.argsort(-keys, axis=0)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(T)[:, None].repeat(neurons, axis=1), axis=0)
    out[rank < counts[None, :]] = 1
    return out


def _counts_from_histogram(hist: np.ndarray, neurons: int, rng: np.random.Generator) -> np.ndarray:
    total = hist.sum()
    if total <= 0:
        return np.zeros(neurons, dtype=np.int64)
    exact = hist / total * neurons
    n = np.floor(exact).astype(np.int64)
    short = neurons - n.sum()
    if short > 0:   # largest remainders get the leftover neurons
        n[np.argsort(-(exact - n), kind="stable")[:short]] += 1
    counts = np.repeat(np.arange(len(hist)), n)
    rng.shuffle(counts)
    return counts


def synthetic_weights(shape: list[int], sparsity: Sparsity | None, bits: int,
                      rng: np.random.Generator) -> np.ndarray:
    """Integer weights of ``shape`` (``[out, ...]``). With ``row_nnz``, row r has exactly
    ``row_nnz[r]`` nonzeros; otherwise each element is nonzero with probability density.
    Nonzero values are uniform over the signed ``bits``-bit range without 0."""
    rows = shape[0]
    cols = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    density = 1.0 if sparsity is None else sparsity.density
    row_nnz = None if sparsity is None else sparsity.row_nnz
    if row_nnz is not None and len(row_nnz) == rows:
        nnz = np.minimum(np.asarray(row_nnz, dtype=np.int64), cols)
        keys = rng.random((rows, cols))
        order = np.argsort(keys, axis=1)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(cols)[None, :].repeat(rows, axis=0), axis=1)
        mask = rank < nnz[:, None]
    else:
        mask = rng.random((rows, cols)) < density
    hi = max(1, 2 ** (bits - 1) - 1)
    values = rng.integers(1, hi + 1, size=(rows, cols)) * rng.choice(np.array([-1, 1]), size=(rows, cols))
    dtype = np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32
    return np.where(mask, values, 0).astype(dtype).reshape(shape)


def synthetic_operand(operand: Operand, timesteps: int, seed: int, op_id: str) -> np.ndarray:
    """A synthetic tensor for ``operand``: spikes as ``[T, *shape]``, weights as ``shape``,
    other operands as ``[T, *shape]`` (T > 1) or ``shape`` of integer values."""
    rng = np.random.default_rng(seed_for(seed, op_id, operand.name))
    if operand.role == Role.spike:
        flat = synthetic_spikes(operand.numel, timesteps, operand.sparsity, rng)
        return flat.reshape(timesteps, *operand.shape)
    if operand.role in (Role.static_weight, Role.dynamic_weight) and len(operand.shape) >= 1:
        return synthetic_weights(list(operand.shape), operand.sparsity, operand.bits, rng)
    lead = (timesteps,) if timesteps > 1 else ()
    size = (*lead, *operand.shape)
    mask = rng.random(size) < operand.density
    hi = max(1, 2 ** (min(operand.bits, 16) - 1) - 1)
    return np.where(mask, rng.integers(1, hi + 1, size=size), 0).astype(np.int32)
