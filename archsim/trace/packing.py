"""Bit packing of spike trains and masks.

A spike tensor of shape ``[T, *neurons]`` is stored as one unsigned word per neuron whose bit
``t`` is the spike at timestep ``t`` (the LoAS packed format). The word is the smallest of
uint8/16/32/64 that holds T bits, so T may be at most 64.
"""
from __future__ import annotations

import numpy as np

_WORDS = ((8, np.uint8), (16, np.uint16), (32, np.uint32), (64, np.uint64))


def word_dtype(timesteps: int) -> np.dtype:
    for bits, dtype in _WORDS:
        if timesteps <= bits:
            return np.dtype(dtype)
    raise ValueError(f"at most 64 timesteps can be packed, got {timesteps}")


def pack_spikes(spikes: np.ndarray) -> np.ndarray:
    """``[T, *neurons]`` of 0/1 (any dtype) -> ``[*neurons]`` words, bit t = timestep t."""
    spikes = np.asarray(spikes)
    if spikes.ndim < 1 or spikes.shape[0] < 1:
        raise ValueError("spikes need a leading timestep axis of length >= 1")
    if spikes.size and not np.isin(np.unique(spikes), (0, 1)).all():
        raise ValueError("spike tensors hold only 0 and 1")
    dtype = word_dtype(spikes.shape[0])
    words = np.zeros(spikes.shape[1:], dtype=dtype)
    for t in range(spikes.shape[0]):
        words |= spikes[t].astype(dtype) << dtype.type(t)
    return words


def unpack_spikes(words: np.ndarray, timesteps: int) -> np.ndarray:
    """Inverse of :func:`pack_spikes`: ``[*neurons]`` words -> ``[T, *neurons]`` uint8."""
    words = np.asarray(words)
    dtype = word_dtype(timesteps)
    if words.dtype != dtype:
        raise ValueError(f"{timesteps} timesteps are packed in {dtype}, got {words.dtype}")
    out = np.empty((timesteps, *words.shape), dtype=np.uint8)
    for t in range(timesteps):
        out[t] = (words >> dtype.type(t)) & dtype.type(1)
    return out


def spike_counts(words: np.ndarray) -> np.ndarray:
    """Spikes in T of each neuron (popcount of each packed word)."""
    words = np.asarray(words)
    as_bytes = words.reshape(-1).view(np.uint8).reshape(words.size, words.dtype.itemsize)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1).reshape(words.shape).astype(np.int64)


def pack_mask(mask: np.ndarray) -> np.ndarray:
    return np.packbits(np.asarray(mask, dtype=bool).reshape(-1))


def unpack_mask(packed: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    n = int(np.prod(shape))
    return np.unpackbits(packed, count=n).astype(bool).reshape(shape)
