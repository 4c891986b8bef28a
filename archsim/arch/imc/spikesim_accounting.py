"""``accounting: spikesim``: SpikeSim's ELA bookkeeping of a PE cycle, beside our physical one.

SpikeSim's ELA script (Intelligent-Computing-Lab-Yale/SpikeSim, ela_spikesim.py) prices every PE
cycle alike, whatever the layer uses of its crossbars, and scales its digital units with the
crossbar size X in ways that differ from the physical counts of :mod:`archsim.arch.imc.mapping`:

* **full-crossbar charging**: a PE cycle activates every crossbar of the PE ``lanes`` times
  (``lanes = X / cols_per_adc``, SpikeSim's X/8) and converts ``lanes**2`` column sums, also for a
  layer narrower than the crossbar (physical: only the used columns);
* **(X/8)^2 conversions**: SpikeSim multiplies its per-PE ADC term by X/8 again, so conversions
  grow with the square of the crossbar width (physical: one per used column);
* **shift-add units per tile**: SpikeSim provisions ``lanes`` subtractors per tile (physical: one
  per PE), and its subtractor and temp-buffer energy grows with X/8 per PE cycle: with the
  per-conversion prices of hw_configs/energy/spikesim_rram_65nm.yaml (derived at X = 64), ``X``
  shift-add and partial-sum-buffer actions per PE cycle.

At X = 64 with 8 PEs per tile and layers at least as wide as the crossbar the two accountings
agree; ``tests/imc/test_spikesim_harness.py`` holds this mode to SpikeSim's own numbers over
crossbar sizes, PEs per tile and narrow layers.
"""
from __future__ import annotations

import math


def lanes(params) -> int:
    return math.ceil(params.crossbar.cols / params.adc.cols_per_adc)


def pe_cycle_actions(params) -> dict[tuple[str, str], float]:
    """Actions of one PE cycle (one input bit-vector through one PE), SpikeSim's way."""
    n = lanes(params)
    X = params.crossbar.cols
    acts = {("crossbar", "read"): n * params.pe.crossbars, ("adc", "convert"): n * n,
            ("shift_add", "add"): X, ("psum_buffer", "access"): X}
    if params.adc.cols_per_adc > 1:
        acts[("mux", "select")] = n * n
    return acts


def shift_add_per_tile(params) -> int:
    """Subtractors SpikeSim provisions per tile (X/8)."""
    return lanes(params)
