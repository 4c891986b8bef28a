"""ADC resolution against the column sums it converts, and ADC pricing against ``params.adc.bits``.

One conversion reads the sum of the rows of one crossbar (or, with ``adc.sharing: pe``, of the
PE's kernel positions on shared bit lines) for one input digit: at most ``R (2^c - 1) (2^d - 1)``
levels for ``R`` rows summed, ``c`` bits per cell and ``d`` DAC bits. Resolving every sum needs

    B = ceil(log2(R (2^c - 1) (2^d - 1) + 1))  bits.

An ADC of ``b < B`` bits spans the same range with ``2^b`` codes, so it drops ``B - b`` bits of
every partial sum; the non-ideality engine applies exactly that quantisation (its fixed range
is the largest column sum, see ``archsim.noise.engine._full_scale``). Per op the cost model
reports ``adc_required_bits`` (ops.csv) and ``adc_unresolved_conversions`` (conversions whose
ADC has fewer bits than B); the summary gives ``adc_required_bits`` (the largest over ops) and
``adc_bits_short`` (how many bits the ADC lacks for it; 0 when it resolves every sum).

**Pricing.** An energy table that prices the ADC by resolution declares a variable ``ADC_BITS``
(NeuroSim's SAR model in ``imc_periphery_32nm.yaml``; a Walden-FOM scaling of SpikeSim's 4-bit
ADC in ``spikesim_rram_65nm.yaml``). The hardware file passes its resolution there
(``energy.variables: {ADC_BITS: ...}``); a design whose ``params.adc.bits`` differs from the
resolution its tables price is an error (sweep ``variables.ADC_BITS`` in the presets, which sets
both), so an ADC sweep can never change the accuracy without changing the cost.
"""
from __future__ import annotations

import math

from archsim.arch.imc.params import ImcParams
from archsim.errors import ConfigError


def required_bits(rows_summed: int, bits_per_cell: int, dac_bits: int) -> int:
    """Bits that resolve every column sum of ``rows_summed`` rows (see the module docstring)."""
    top = rows_summed * (2 ** bits_per_cell - 1) * (2 ** dac_bits - 1)
    return max(1, math.ceil(math.log2(top + 1)))


def rows_per_conversion(layout, params: ImcParams) -> int:
    """Rows one conversion sums: one crossbar's rows, times the PE's kernel positions when the
    PE's crossbars share bit lines and ADCs."""
    rows = layout.max_rows_per_crossbar
    if params.adc.sharing == "pe":
        rows *= min(layout.positions, params.pe.crossbars)
    return rows


def op_required_bits(layout, params: ImcParams) -> int:
    """The bits a conversion of this op needs (spikes and bit-serial inputs: one DAC digit)."""
    return required_bits(rows_per_conversion(layout, params), params.crossbar.bits_per_cell, params.dac_bits)


def adc_metrics(need: int, params: ImcParams, conversions: float) -> dict[str, float]:
    """Per-op metric (summable): the conversions whose ADC has fewer bits than ``need``."""
    return {"adc_unresolved_conversions": float(conversions if need > params.adc.bits else 0.0)}


def summary_entries(required: list[float], params: ImcParams) -> dict[str, float]:
    if not required:
        return {}
    need = max(required)
    return {"adc_required_bits": need, "adc_bits_short": max(0.0, need - params.adc.bits)}


def check_pricing(hw) -> None:
    """The tables' ``ADC_BITS`` (when they declare one) must equal ``params.adc.bits``."""
    bits = hw.params.adc.bits
    for path, table in hw.table.files:
        priced = (table.variables or {}).get("ADC_BITS")
        if priced is not None and priced != bits:
            raise ConfigError(
                f"{hw.path or hw.name}: params.adc.bits is {bits} but energy table {path.name} prices a "
                f"{priced}-bit ADC (its variable ADC_BITS); set both (the presets tie them to the variable "
                f"ADC_BITS: sweep variables.ADC_BITS) or pass energy.variables.ADC_BITS")
