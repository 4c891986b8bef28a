"""The crossbar description the non-ideality engine runs on.

:class:`CrossbarSpec` is read from the same ``imc`` hardware description as the cost model
(``CrossbarSpec.from_hardware("hw_configs/clipformer_rram_32nm.yaml")``): crossbar size, bits per
cell, weight bits and signed-weight scheme, input bits and DAC bits, ADC bits, multiplexing and
sharing, plus the ``noise:`` section (conductance range, programming/write/read noise, device
variation, ADC range, IR drop). Every field can be overridden (``spec.replace(read_sigma=0.1)``)
and per op through tags (``spec.for_tags(op.tags)``): ``imc.weight_bits``, ``imc.input_bits``,
``imc.conv_mapping`` and ``noise.<field>`` for the scalar fields below, e.g. ``noise.read_sigma``,
``noise.write_gamma``, ``noise.write_sigma``, ``noise.adc_bits``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from archsim.arch.imc.params import Drift, ImcParams, IrDrop, NoiseModel, WriteTransform
from archsim.errors import ConfigError


@dataclass(frozen=True)
class CrossbarSpec:
    rows: int = 64
    cols: int = 64
    bits_per_cell: int = 2
    weight_bits: int = 8
    input_bits: int = 8
    dac_bits: int = 1
    signed_weights: str = "offset"          # offset | differential
    weight_scale: str = "tensor"            # tensor | channel (one scale per output)
    g_min_us: float = 1.0
    g_max_us: float = 10.0
    adc_bits: int = 6
    adc_range: str = "fixed"                # fixed | dynamic
    adc_full_scale_levels: float | None = None
    ideal_adc: bool = False
    adc_sharing: str = "crossbar"           # crossbar | pe (kernel positions summed on shared bit lines)
    pe_crossbars: int = 1
    conv_mapping: str = "kernel_positions"  # kernel_positions | unrolled
    read_sigma: float = 0.0
    d2d_sigma: float = 0.0
    programming: NoiseModel = field(default_factory=NoiseModel)
    write: NoiseModel = field(default_factory=NoiseModel)
    ir_drop: IrDrop = field(default_factory=IrDrop)
    drift: Drift = field(default_factory=Drift)
    write_transform: WriteTransform = field(default_factory=WriteTransform)

    def __post_init__(self):
        problems = []
        for name in ("rows", "cols", "bits_per_cell", "weight_bits", "input_bits", "dac_bits", "adc_bits", "pe_crossbars"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.weight_bits < 2:
            problems.append(f"weight_bits must be at least 2 for signed weights, got {self.weight_bits}")
        for name, allowed in (("signed_weights", ("offset", "differential")), ("weight_scale", ("tensor", "channel")),
                              ("adc_range", ("fixed", "dynamic")), ("adc_sharing", ("crossbar", "pe")),
                              ("conv_mapping", ("kernel_positions", "unrolled"))):
            if getattr(self, name) not in allowed:
                problems.append(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not 0 < self.g_min_us < self.g_max_us:
            problems.append(f"need 0 < g_min_us < g_max_us, got {self.g_min_us} and {self.g_max_us}")
        for name in ("read_sigma", "d2d_sigma"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if problems:
            raise ConfigError([f"CrossbarSpec: {p}" for p in problems])

    # --- construction --------------------------------------------------------------------------
    @classmethod
    def from_params(cls, p: ImcParams, *, input_bits: int | None = None) -> "CrossbarSpec":
        n = p.noise
        g_min, g_max = n.conductance_range_us()
        return cls(rows=p.crossbar.rows, cols=p.crossbar.cols, bits_per_cell=p.crossbar.bits_per_cell,
                   weight_bits=p.weight_bits, input_bits=input_bits or p.input_bits or 8, dac_bits=p.dac_bits,
                   signed_weights=p.mapping.signed_weights, g_min_us=g_min, g_max_us=g_max, adc_bits=p.adc.bits,
                   adc_range=n.adc_range, adc_full_scale_levels=n.adc_full_scale_levels, ideal_adc=n.ideal_adc,
                   adc_sharing=p.adc.sharing, pe_crossbars=p.pe.crossbars, conv_mapping=p.mapping.conv,
                   read_sigma=n.read_sigma, d2d_sigma=n.d2d_sigma, programming=n.programming, write=n.write,
                   ir_drop=n.ir_drop, drift=n.drift, write_transform=n.write_transform)

    @classmethod
    def from_hardware(cls, hw: Any, overrides: Mapping[str, Any] | None = None) -> "CrossbarSpec":
        """From an ``imc`` hardware description (a path or a loaded ``Hardware``)."""
        from archsim.config.hardware import Hardware, load_hardware

        if not isinstance(hw, Hardware):
            hw = load_hardware(Path(hw), overrides=overrides)
        if hw.config.architecture != "imc":
            raise ConfigError(f"{hw.path or hw.name}: architecture: the noise engine needs an 'imc' description, "
                              f"got '{hw.config.architecture}'")
        return cls.from_params(hw.params)

    def replace(self, **changes) -> "CrossbarSpec":
        return dataclasses.replace(self, **changes)

    # --- per-op options ------------------------------------------------------------------------
    _NOISE_TAGS = {"read_sigma": float, "d2d_sigma": float, "adc_bits": int, "ideal_adc": bool,
                   "adc_range": str, "adc_full_scale_levels": float, "input_bits": int, "weight_bits": int,
                   "write_sigma": float, "write_gamma": float, "write_kind": str,
                   "programming_sigma": float, "programming_gamma": float, "programming_kind": str,
                   "drift_time_s": float}
    _IMC_TAGS = {"imc.weight_bits": "weight_bits", "imc.input_bits": "input_bits", "imc.conv_mapping": "conv_mapping"}

    def for_tags(self, tags: Mapping[str, Any], *, where: str = "op") -> "CrossbarSpec":
        """This spec with an op's ``imc.*`` and ``noise.*`` tags applied."""
        changes: dict[str, Any] = {}
        models = {"write": {}, "programming": {}}
        for tag, value in tags.items():
            if tag in self._IMC_TAGS:
                changes[self._IMC_TAGS[tag]] = value
            elif tag.startswith("noise."):
                name = tag[len("noise."):]
                if name not in self._NOISE_TAGS:
                    raise ConfigError(f"{where}: tags.{tag}: unknown noise option; known: "
                                      f"{', '.join('noise.' + k for k in sorted(self._NOISE_TAGS))}")
                kind = self._NOISE_TAGS[name]
                try:
                    value = kind(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"{where}: tags.{tag}: expected {kind.__name__}, got {value!r}") from None
                model, _, attr = name.partition("_")
                if name == "drift_time_s":
                    changes["drift"] = (changes.get("drift") or self.drift).model_copy(update={"time_s": value})
                elif model in models and attr in ("sigma", "gamma", "kind"):
                    models[model][attr] = value
                else:
                    changes[name] = value
        for model, attrs in models.items():
            if attrs:
                try:
                    changes[model] = getattr(self, model).model_copy(update=attrs)
                    NoiseModel.model_validate(changes[model].model_dump())
                except Exception as exc:   # pydantic ValidationError: one readable line
                    raise ConfigError(f"{where}: tags.noise.{model}_*: {exc}".splitlines()[0]) from None
        return self.replace(**changes) if changes else self

    # --- derived -------------------------------------------------------------------------------
    @property
    def levels(self) -> int:
        """Conductance levels per cell minus one: the largest digit a cell stores."""
        return 2 ** self.bits_per_cell - 1

    @property
    def level_us(self) -> float:
        """Conductance step between neighbouring levels, uS."""
        return (self.g_max_us - self.g_min_us) / self.levels
