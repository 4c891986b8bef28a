"""The ``params:`` section of an ``imc`` hardware description (validated, frozen).

One description serves both halves of the IMC simulator: the cost model (mapping, energy,
latency, area) reads the structure, the non-ideality engine (:mod:`archsim.noise`) reads the same
crossbar, slicing and ADC fields plus the ``noise:`` section. ``docs/models/imc.md`` has the table
of every key with its unit and default.
"""
from __future__ import annotations

from typing import Literal

import pydantic
from pydantic import Field, model_validator

from archsim.arch.vector_ops import OpsPerElement, default_ops_per_element
from archsim.config.validation import Strict



class Crossbar(Strict):
    rows: int = Field(ge=1, le=4096, description="word lines (inputs) per crossbar")
    cols: int = Field(ge=1, le=4096, description="bit lines (outputs) per crossbar")
    bits_per_cell: int = Field(ge=1, le=8, description="bits one cell stores")
    device: str = Field(default="rram", description="label (documentation; the tables price it)")


class Adc(Strict):
    bits: int = Field(ge=1, le=16, description="ADC resolution (the tables may price it through a variable)")
    cols_per_adc: int = Field(default=8, ge=1, description="columns multiplexed onto one ADC")
    sharing: Literal["crossbar", "pe"] = Field(
        default="crossbar",
        description="'crossbar': every crossbar has cols/cols_per_adc ADCs; 'pe': the crossbars of a PE "
                    "(one kernel position each) sum their column currents and share one set of ADCs")


class Pe(Strict):
    crossbars: int = Field(ge=1, description="crossbars per PE")
    packing: Literal["kernel_positions", "dense"] = Field(
        default="dense",
        description="'kernel_positions': a PE holds the kernel positions of one (row block, column block); "
                    "'dense': a layer's crossbars are packed into PEs in order")
    cycle_clocks: float = Field(gt=0, description="clock cycles of one PE cycle: one input bit-plane vector "
                                                   "read through all ADC multiplexer steps")


class Tile(Strict):
    pes: int = Field(ge=1, description="PEs per tile")
    shared_by_layers: bool = Field(default=False, description="layers may share a tile (SpikeSim); "
                                                              "otherwise a tile holds one layer (NeuroSim, TReX)")
    buffer_bits: int = Field(default=8192, ge=0, description="tile input buffer capacity, bits (area)")


class Mapping(Strict):
    conv: Literal["kernel_positions", "unrolled"] = Field(
        default="kernel_positions",
        description="'kernel_positions': each kernel position gets its own crossbars (C_in rows); "
                    "'unrolled': the k*k*C_in rows of the im2col matrix are split across crossbars")
    signed_weights: Literal["offset", "differential"] = Field(
        default="offset",
        description="'offset': w + 2^(b-1) stored, the offset removed digitally (no extra columns); "
                    "'differential': w+ and w- on two columns of b-1 magnitude bits each")


class Latency(Strict):
    mode: Literal["pipelined", "layer_by_layer"] = "pipelined"
    start_fraction: float = Field(default=0.75, gt=0, le=1,
                                  description="pipelined: a layer starts when its producers have done this "
                                              "fraction of their work (SpikeSim: 0.75)")


class Neuron(Strict):
    lanes_per_layer: int = Field(default=64, ge=1, description="LIF neuron units of one layer")
    update_clocks: float = Field(default=1, gt=0, description="clocks per neuron update of one unit")
    energy_per: Literal["neuron", "pe_cycle"] = Field(
        default="neuron",
        description="'neuron': one neuron.update per neuron per timestep; 'pe_cycle': one per PE cycle of "
                    "the producing crossbar layer (SpikeSim's ELA)")
    membrane_bits: int = Field(default=16, ge=1, description="bits of membrane memory per neuron (area)")
    membrane_memory_layers: int | None = Field(
        default=None, ge=0,
        description="membrane memory for the first N LIF layers only (SpikeSim's ELA: 5 of VGG9's 7); "
                    "null: every LIF layer")


class Buffers(Strict):
    input_bits_per_element: float = Field(
        default=8, ge=0, description="input buffer bits per input element of every crossbar layer (area)")


class Digital(Strict):
    lanes: int = Field(default=64, ge=1, description="lanes of the digital unit (softmax, LayerNorm, GELU, ...)")
    op_clocks: float = Field(default=1, gt=0, description="clocks per operation of one lane")
    ops_per_element: OpsPerElement = Field(default_factory=default_ops_per_element)


class Write(Strict):
    """Writing a run-time operand (K^T, V) into crossbars."""

    rows_per_step: int = Field(default=1, ge=1, description="rows of one crossbar written in parallel")
    pulses: int = Field(default=1, ge=1, description="program pulses per cell write")
    verify_iterations: int = Field(default=0, ge=0, description="write-verify iterations: each adds one "
                                                                "verify read of the row and one pulse")
    pulse_clocks: float = Field(default=1, gt=0, description="clocks of one program pulse")
    verify_clocks: float = Field(default=1, gt=0, description="clocks of one verify read")
    max_parallel_crossbars: int | None = Field(default=None, ge=1,
                                               description="crossbars written at once (null: all of an op)")
    refresh_interval_s: float | None = Field(
        default=None, gt=0, description="reprogram every static cell this often (drift refresh), amortised "
                                        "per inference (archsim.arch.imc.refresh); null: never")


class NoiseModel(Strict):
    """A conductance perturbation drawn when cells are programmed or written.

    * ``none``
    * ``proportional``: G' = G (1 + N(0, sigma^2))
    * ``additive``: G' = G + N(0, (sigma (G_max - G_min))^2)
    * ``txsim``: G' = G + gamma sqrt((G - G_min)(G_max - G_min)) N(0, sigma^2)  (TxSim, ClipFormer)
    """

    kind: Literal["none", "proportional", "additive", "txsim"] = "none"
    sigma: float = Field(default=0.0, ge=0)
    gamma: float = Field(default=1.0, ge=0)


class IrDrop(Strict):
    enabled: bool = False
    r_wire_row_ohm: float = Field(default=1.0, ge=0, description="wire resistance between neighbouring cells of a row")
    r_wire_col_ohm: float = Field(default=1.0, ge=0, description="wire resistance between neighbouring cells of a column")
    v_read: float = Field(default=0.1, gt=0, description="read voltage of an input bit, V")
    tolerance: float = Field(default=1e-6, gt=0, description="relative voltage error at which the solve stops")
    max_iterations: int = Field(default=1000, ge=1)
    relaxation: float = Field(default=1.0, gt=0, le=2, description="relaxation factor of the iteration (CrossSim gamma)")


class Drift(Strict):
    """Power-law conductance drift of programmed (static) cells, ``G(t) = G (1 + t/t0)^(-nu)``
    with a per-device ``nu`` (:mod:`archsim.noise.drift` holds the presets and their sources).

    * ``none``: no drift
    * ``pcm``: aihwkit's PCM fit (conductance-dependent nu mean and spread, t0 20 s)
    * ``rram``: a small constant nu (see the preset's source)
    * ``power_law``: ``nu ~ |N(nu_mean, nu_std^2)|`` per device, ``t0_s`` given here
    """

    model: Literal["none", "pcm", "rram", "power_law"] = "none"
    time_s: float = Field(default=0.0, ge=0, description="time since programming at which inference runs, s")
    t0_s: float | None = Field(default=None, gt=0, description="power_law: first read after programming, s")
    nu_mean: float | None = Field(default=None, ge=0, description="power_law: mean drift exponent")
    nu_std: float | None = Field(default=None, ge=0, description="power_law: device-to-device std of the exponent")
    compensation: Literal["none", "global"] = Field(
        default="none", description="'global': scale every array's outputs by a reference read taken after "
                                    "programming over the same read at time_s (aihwkit's global drift compensation)")

    @model_validator(mode="after")
    def _coefficients(self):
        given = [k for k in ("t0_s", "nu_mean", "nu_std") if getattr(self, k) is not None]
        if self.model == "power_law":
            missing = [k for k in ("t0_s", "nu_mean") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"drift model 'power_law' needs {', '.join(missing)}")
        elif given:
            raise ValueError(f"drift model '{self.model}' fixes its coefficients; {', '.join(given)} apply to "
                             "model 'power_law' only")
        return self


class WriteTransform(Strict):
    """A conductance transform of run-time (K/V) operands before they are written.
    ``clipformer``: ClipFormer's K/V clipping (``archsim.noise.ClipFormerTransform``, on each
    value's conductance; needs ``mapping.signed_weights: differential``)."""

    kind: Literal["none", "clipformer"] = "none"
    alpha: float = Field(default=2.0, ge=1, description="clipformer: a shifted zero lands at alpha G_min")
    beta: float = Field(default=0.25, gt=0, le=1, description="clipformer: conductances clipped at beta G_max")


class Noise(Strict):
    """The non-ideality engine's device and circuit parameters (``archsim.noise``)."""

    g_min_us: float | None = Field(default=None, gt=0, description="lowest conductance, uS")
    g_max_us: float | None = Field(default=None, gt=0, description="highest conductance, uS")
    r_min_ohm: float | None = Field(default=None, gt=0, description="alternative to g_max_us: 1/G_max")
    on_off_ratio: float | None = Field(default=None, gt=1, description="alternative to g_min_us: G_max/G_min")
    programming: NoiseModel = Field(default_factory=NoiseModel, description="static weights, drawn once")
    write: NoiseModel = Field(default_factory=NoiseModel, description="run-time (dynamic) operands, drawn per write")
    d2d_sigma: float = Field(default=0.0, ge=0, description="proportional device-to-device variation, drawn once")
    read_sigma: float = Field(default=0.0, ge=0, description="proportional read noise of every cell, per read")
    adc_range: Literal["fixed", "dynamic"] = Field(
        default="fixed", description="'fixed': 0..full scale; 'dynamic': min..max of each partial-sum tensor")
    adc_full_scale_levels: float | None = Field(
        default=None, gt=0, description="fixed range, in level units (one level = one cell step for one input "
                                        "step); null: the largest possible column sum, rounded up to 2^B - 1")
    ideal_adc: bool = Field(default=False, description="no ADC quantisation (for checks)")
    ir_drop: IrDrop = Field(default_factory=IrDrop)
    drift: Drift = Field(default_factory=Drift)
    write_transform: WriteTransform = Field(default_factory=WriteTransform)

    @model_validator(mode="after")
    def _range(self):
        if self.g_max_us is not None and self.r_min_ohm is not None:
            raise ValueError("give g_max_us or r_min_ohm, not both")
        if self.g_min_us is not None and self.on_off_ratio is not None:
            raise ValueError("give g_min_us or on_off_ratio, not both")
        return self

    def conductance_range_us(self) -> tuple[float, float]:
        """(G_min, G_max) in uS; defaults to 1 uS .. 10 uS when nothing is given."""
        g_max = self.g_max_us if self.g_max_us is not None else (
            1e6 / self.r_min_ohm if self.r_min_ohm is not None else 10.0)
        g_min = self.g_min_us if self.g_min_us is not None else (
            g_max / self.on_off_ratio if self.on_off_ratio is not None else g_max / 10.0)
        if not g_min < g_max:
            raise ValueError(f"G_min {g_min} uS must be below G_max {g_max} uS")
        return g_min, g_max


class ImcParams(Strict):
    crossbar: Crossbar
    weight_bits: int | None = Field(ge=1, le=16, description="bits of a stored weight (sliced over cells); "
                                                             "null: each op's weight operand's bits (quantised traces)")
    input_bits: int | None = Field(default=None, ge=1, le=16,
                                   description="bits of a multi-bit input (null: the trace operand's bits)")
    dac_bits: int = Field(default=1, ge=1, le=8, description="input bits applied per PE cycle (1: bit-serial)")
    adc: Adc
    pe: Pe
    tile: Tile
    mapping: Mapping = Field(default_factory=Mapping)
    latency: Latency = Field(default_factory=Latency)
    neuron: Neuron = Field(default_factory=Neuron)
    buffers: Buffers = Field(default_factory=Buffers)
    digital: Digital = Field(default_factory=Digital)
    write: Write = Field(default_factory=Write)
    activity_gating: bool = Field(default=False, description="scale crossbar-read and driver energy by the "
                                                             "input density (spike activity) from the trace")
    noise: Noise = Field(default_factory=Noise)
    accounting: Literal["physical", "spikesim"] = Field(
        default="physical", description="'physical': crossbar reads, conversions and shift-adds of the columns "
        "a layer uses; 'spikesim': SpikeSim's ELA bookkeeping (full crossbars every PE cycle, (X/8)^2 "
        "conversions, X/8 shift-add units per tile; archsim.arch.imc.spikesim_accounting)")

    @model_validator(mode="after")
    def _consistent(self):
        if self.adc.sharing == "pe" and self.pe.packing != "kernel_positions":
            raise ValueError("adc.sharing 'pe' sums the column currents of a PE's crossbars, which needs "
                             "pe.packing 'kernel_positions' (the crossbars of a PE hold the same columns)")
        if self.adc.cols_per_adc > self.crossbar.cols:
            raise ValueError(f"adc.cols_per_adc {self.adc.cols_per_adc} exceeds crossbar.cols {self.crossbar.cols}")
        if self.noise.write_transform.kind == "clipformer" and self.mapping.signed_weights != "differential":
            raise ValueError("noise.write_transform 'clipformer' clips each K/V value's conductance, which needs "
                             "mapping.signed_weights 'differential' (offset encoding puts zero at mid-range)")
        try:
            self.noise.conductance_range_us()
        except ValueError as exc:
            raise ValueError(f"noise: {exc}") from None
        return self
