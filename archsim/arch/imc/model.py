"""``imc``: memristive crossbar accelerator (chip -> tiles -> PEs -> crossbars); see
docs/models/imc.md for the parameters and equations.

``prepare`` maps the whole network (crossbars, PEs and tiles per layer), ``run_op`` counts
actions and cycles per op (:mod:`.cost`), ``total_cycles`` schedules the layer graph pipelined
or layer by layer (:mod:`.latency`) and ``instances`` reports the provisioned hardware for area.
"""
from __future__ import annotations

import math

from archsim.arch.base import HardwareModel, OpContext, OpCost
from archsim.arch.imc import adc, cost, latency, refresh
from archsim.arch.imc import spikesim_accounting
from archsim.arch.imc.mapping import ChipMapping, OpOptions, map_network
from archsim.arch.imc.params import ImcParams
from archsim.arch.quant_cost import total_dequant_ops
from archsim.errors import ConfigError
from archsim.trace.schema import GEMM_KINDS, OP_KINDS

ALWAYS_PRICED = {   # component -> actions every crossbar layer uses (checked when the file loads)
    "crossbar": ("read",), "dac": ("drive",), "adc": ("convert",), "shift_add": ("add",),
    "psum_buffer": ("access",), "tile_buffer": ("read_vector",), "htree": ("send_vector",),
    "input_buffer": ("read_vector",), "tile": (), "pe": (),
}


class ImcModel(HardwareModel):
    name = "imc"
    description = ("memristive crossbars: tiles/PEs/crossbars, bit-sliced weights, bit-serial inputs, ADCs, "
                   "run-time K/V writes, pipelined latency (analytical) + non-ideality engine")
    Params = ImcParams
    kinds = OP_KINDS

    def __init__(self, hw):
        super().__init__(hw)
        self.mapping: ChipMapping | None = None
        self._ops: dict = {}
        self._pe_cycles: dict[str, float] = {}
        self._adc_required: list[float] = []

    @classmethod
    def check(cls, hw) -> None:
        p: ImcParams = hw.params
        needed = dict(ALWAYS_PRICED)
        if p.adc.cols_per_adc > 1:
            needed["mux"] = ("select",)
        for component, actions in needed.items():
            for action in actions:
                hw.table.action(component, action)
            hw.table.area_um2(component)
        adc.check_pricing(hw)

    # --- the whole network ------------------------------------------------------------------
    def prepare(self, trace, ctx: OpContext) -> None:
        p: ImcParams = self.params
        self._ops = {op.id: op for op in trace.ops}
        self.mapping = map_network(trace.ops, p)
        gemms = [op for op in trace.ops if op.kind in GEMM_KINDS]
        self._input_elements = sum(_input_elements(op) for op in gemms)
        lifs = [op for op in trace.ops if op.kind == "lif"]
        self._lif_layers = len(lifs)
        keep = lifs if p.neuron.membrane_memory_layers is None else lifs[:p.neuron.membrane_memory_layers]
        self._membrane_neurons = sum(op.neurons for op in keep)
        # ops other than GEMMs and LIF run on the digital unit (softmax, LayerNorm, GELU, ...), and
        # so does the dequantisation of quantised GEMM operands
        self._digital = any(op.kind not in GEMM_KINDS and op.kind != "lif" for op in trace.ops) or any(
            total_dequant_ops(op) for op in gemms)
        if p.neuron.energy_per == "pe_cycle":
            for op in lifs:
                if self._crossbar_producer(op) is None:
                    raise ConfigError(f"{self.hw.path or self.hw.name}: params.neuron.energy_per: 'pe_cycle' prices "
                                      f"a LIF layer per PE cycle of the crossbar layer feeding it, but LIF op "
                                      f"'{op.id}' of {trace.path or trace.name} has none; use 'neuron'")

    def _crossbar_producer(self, op):
        """The nearest crossbar layer upstream of ``op`` along first inputs."""
        seen = op
        while seen.inputs:
            seen = self._ops[seen.inputs[0]]
            if seen.kind in GEMM_KINDS:
                return seen
        return None

    def run_op(self, op, ctx: OpContext) -> OpCost:
        p: ImcParams = self.params
        if op.kind in GEMM_KINDS:
            if self.mapping is None or op.id not in self.mapping.layouts:   # run outside simulate()
                self.mapping = map_network([op], p)
            c = cost.gemm_cost(op, self.mapping.layouts[op.id], p, OpOptions.for_op(p, op))
            self._pe_cycles[op.id] = c.metrics["pe_cycles"]
            need = adc.op_required_bits(self.mapping.layouts[op.id], p)
            c.metrics.update(adc.adc_metrics(need, p, c.metrics["adc_conversions"]))
            c.labels["adc_required_bits"] = need
            self._adc_required.append(float(need))
            return c
        if op.kind == "lif":
            producer = self._crossbar_producer(op) if p.neuron.energy_per == "pe_cycle" else None
            return cost.neuron_cost(op, p, self._pe_cycles.get(producer.id) if producer else None)
        return cost.digital_cost(op, p)

    def total_cycles(self, trace, costs: dict[str, OpCost]) -> float:
        lat = self.params.latency
        return latency.total_cycles(trace.ops, {k: c.cycles for k, c in costs.items()}, lat.mode, lat.start_fraction)

    def summarize(self, summary: dict) -> dict:
        """ADC resolution against the column sums (:mod:`.adc`) and the amortised refresh of
        drifted weights (:mod:`.refresh`)."""
        out = adc.summary_entries(self._adc_required, self.params)
        if self.mapping is not None:
            out.update(refresh.amortised(summary, self.mapping.layouts.values(), self.params))
        return out

    @classmethod
    def price_summary(cls, summary: dict, table=None) -> None:
        """The amortised refresh's energy (its counts are in the summary), from the tables."""
        if table is not None:
            refresh.price(summary, table)

    def instances(self) -> dict[str, float]:
        p: ImcParams = self.params
        tiles = self.mapping.tiles if self.mapping else 0
        pes = tiles * p.tile.pes
        crossbars = pes * p.pe.crossbars
        lanes = math.ceil(p.crossbar.cols / p.adc.cols_per_adc)
        adcs = pes * lanes * (1 if p.adc.sharing == "pe" else p.pe.crossbars)
        inst = {"tile": tiles, "pe": pes, "crossbar": crossbars, "adc": adcs, "dac": crossbars * p.crossbar.rows,
                "shift_add": (tiles * spikesim_accounting.shift_add_per_tile(p) if p.accounting == "spikesim"
                              else pes), "psum_buffer": tiles, "tile_buffer": tiles * p.tile.buffer_bits,
                "htree": tiles, "input_buffer": getattr(self, "_input_elements", 0) * p.buffers.input_bits_per_element}
        if p.adc.cols_per_adc > 1:
            inst["mux"] = adcs
        if getattr(self, "_lif_layers", 0):
            inst["neuron"] = self._lif_layers * p.neuron.lanes_per_layer
            inst["membrane_memory"] = self._membrane_neurons * p.neuron.membrane_bits
        if getattr(self, "_digital", False):
            inst["digital"] = p.digital.lanes
        return {k: float(v) for k, v in inst.items()}


def _input_elements(op) -> int:
    inp = cost.input_operand(op)
    if inp is not None:
        return inp.numel
    g = op.gemm
    if op.kind == "conv2d":
        return op.batch * op.in_channels * op.in_h * op.in_w
    return g.groups * g.M * g.K
