"""Area per layer: the chip's provisioned area attributed to the ops that use it.

A crossbar layer owns its PEs (crossbars, ADCs, multiplexers, drivers, shift-add unit) and its
share of tiles (psum buffer, tile buffer, H-tree): ``PEs / tile.pes`` tiles when layers share
tiles, ``ceil(PEs / tile.pes)`` otherwise, the tile's empty PE slots included. It also owns its
input buffer; a LIF layer owns its neuron units and membrane memory. What no single op owns
(the digital unit, the empty PE slots of a shared last tile) is the row ``(shared)``. The rows
sum to the chip area of :func:`archsim.engine.simulate`.

    from archsim.arch.imc.area import layer_area_um2
    table = layer_area_um2(trace, hw)          # op_id x component, um^2
"""
from __future__ import annotations

import math

import pandas as pd

from archsim.arch.imc import spikesim_accounting
from archsim.arch.imc.model import ImcModel, _input_elements
from archsim.arch.base import OpContext


def layer_area_um2(trace, hw) -> pd.DataFrame:
    """A DataFrame indexed by op id (plus ``(shared)``) with one column per component, um^2."""
    model: ImcModel = hw.create_model()
    if not isinstance(model, ImcModel):
        raise TypeError(f"layer_area_um2 needs an imc hardware description, got '{hw.config.architecture}'")
    model.prepare(trace, OpContext(trace, trace.header.seed))
    p = model.params
    price = {c: hw.table.area_um2(c).value for c in model.instances()}
    lanes = math.ceil(p.crossbar.cols / p.adc.cols_per_adc)
    adcs_per_pe = lanes * (1 if p.adc.sharing == "pe" else p.pe.crossbars)
    per_pe = {"pe": 1, "crossbar": p.pe.crossbars, "adc": adcs_per_pe, "dac": p.pe.crossbars * p.crossbar.rows,
              "shift_add": 0 if p.accounting == "spikesim" else 1}
    if p.adc.cols_per_adc > 1:
        per_pe["mux"] = adcs_per_pe
    per_tile = {"tile": 1, "psum_buffer": 1, "tile_buffer": p.tile.buffer_bits, "htree": 1}
    if p.accounting == "spikesim":
        per_tile["shift_add"] = spikesim_accounting.shift_add_per_tile(p)

    rows: dict[str, dict[str, float]] = {}
    lifs = [op for op in trace.ops if op.kind == "lif"]
    keep = lifs if p.neuron.membrane_memory_layers is None else lifs[:p.neuron.membrane_memory_layers]
    for op in trace.ops:
        row: dict[str, float] = {}
        if op.id in model.mapping.layouts:
            pes = model.mapping.layouts[op.id].pes
            tiles = pes / p.tile.pes if p.tile.shared_by_layers else math.ceil(pes / p.tile.pes)
            slots = tiles * p.tile.pes     # PE slots owned, empty ones of own tiles included
            for c, n in per_pe.items():
                row[c] = slots * n * price[c]
            for c, n in per_tile.items():
                row[c] = tiles * n * price[c]
            row["input_buffer"] = _input_elements(op) * p.buffers.input_bits_per_element * price["input_buffer"]
        elif op.kind == "lif":
            row["neuron"] = p.neuron.lanes_per_layer * price["neuron"]
            if op in keep:
                row["membrane_memory"] = op.neurons * p.neuron.membrane_bits * price["membrane_memory"]
        if row:
            rows[op.id] = row
    table = pd.DataFrame.from_dict(rows, orient="index").fillna(0.0)
    total = {c: n * price[c] for c, n in model.instances().items()}
    for c in total:
        if c not in table:
            table[c] = 0.0
    table.loc["(shared)"] = pd.Series({c: total[c] - table[c].sum() for c in total})
    return table.fillna(0.0)
