"""Element-level buffer accounting and the value / metadata split of DRAM traffic, shared by
LoAS and its dual-sparse baselines (see docs/models/loas.md, "Buffers and DRAM by kind").

**Hits and misses per element.** The buffers hold whole tiles, and the tile walk knows for each
tile whether it was resident (``buffer_hits``). Counting per tile weighs an empty tile like a
full one; the paper counts per element: every element a tile brings to the PE array is one
access, a hit when its tile is resident, a miss when it has to come from DRAM. An element is a
stored nonzero (a packed non-silent spike word for LoAS, a nonzero spike of one timestep for
GoSPA-S and Gamma-S, a nonzero weight), except SparTen-S's spikes, which it keeps dense (every
position is an element). Per op and in the summary::

    cache.<operand>_elements        elements requested (one per tile visit)
    cache.<operand>_element_hits    of which resident
    cache.<operand>_element_misses  of which fetched from DRAM
    cache.<operand>_miss_rate       misses / elements (recomputed from the totals in the summary)

with ``<operand>`` ``weight`` or ``spike``.

**DRAM by kind.** Each DRAM stream is split into the bits of the **values** (weights, spike words
or bits, partial sums) and of the **metadata** that locate them (bitmasks, coordinates), per
operand: ``dram_values_bytes.<stream>`` and ``dram_metadata_bytes.<stream>`` with ``<stream>`` one
of ``weights``, ``spikes``, ``writeback`` (the previous layer's output written back), ``psums``.
For every stream ``values + metadata`` equals the model's ``dram_bytes.<stream>``.
"""
from __future__ import annotations

import numpy as np

OPERANDS = ("weight", "spike")


def element_counts(operand: str, elements: np.ndarray, missed: np.ndarray) -> dict[str, float]:
    """Per-tile requested elements and miss flags -> the element-level counts of one operand."""
    total = float(np.sum(elements))
    misses = float(np.sum(elements * missed))
    return {f"cache.{operand}_elements": total, f"cache.{operand}_element_hits": total - misses,
            f"cache.{operand}_element_misses": misses}


def dram_split(**streams: tuple[float, float]) -> dict[str, float]:
    """``stream=(value bits, metadata bits)`` -> ``dram_values_bytes.<stream>`` and
    ``dram_metadata_bytes.<stream>``."""
    out = {}
    for name, (values, meta) in streams.items():
        out[f"dram_values_bytes.{name}"] = float(values) / 8
        out[f"dram_metadata_bytes.{name}"] = float(meta) / 8
    return out


def with_rates(metrics: dict[str, float]) -> dict[str, float]:
    """Add ``cache.<operand>_miss_rate`` where the element counts are present (0 requested: 0)."""
    out = dict(metrics)
    for operand in OPERANDS:
        total = metrics.get(f"cache.{operand}_elements")
        if total is not None:
            out[f"cache.{operand}_miss_rate"] = metrics[f"cache.{operand}_element_misses"] / total if total else 0.0
    return out


class ElementCacheRates:
    """Mixin for the dual-sparse models: per-op miss rates after the views are combined, and the
    summary's rates recomputed from the summed counts (a sum of per-op rates means nothing)."""

    def run_op(self, op, ctx):
        cost = super().run_op(op, ctx)
        cost.metrics = with_rates(cost.metrics)
        return cost

    def summarize(self, summary: dict) -> dict:
        extra = super().summarize(summary)
        return {**extra, "metrics": with_rates(summary["metrics"])}
