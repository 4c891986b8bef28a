"""Whole-tile buffers: one FIFO buffer per operand holding whole tiles, capacity in
entries (nonzeros); a tile hits when an identical tile (``content``: same values, as the
authors' simulator compares tensors; ``address``: same coordinates) is resident."""
from __future__ import annotations

import numpy as np

from archsim.kernels.tile_schedule import fifo_buffer_hits


def buffer_hits(ids: np.ndarray, sizes: np.ndarray, capacity: int, backend: str = "numba") -> np.ndarray:
    """Hit flags of a whole-tile FIFO buffer (ids renumbered densely for the kernel)."""
    _, dense = np.unique(ids, return_inverse=True)
    return fifo_buffer_hits(dense.reshape(-1), sizes, capacity, backend=backend)


def changed(ids: np.ndarray) -> np.ndarray:
    """Tile differs from the one before; the first tile is compared with the last, as the
    authors' simulator indexes ``tiles[i - 1]``."""
    return ids != np.roll(ids, 1)
