"""Mapping GEMM ops onto crossbars, PEs and tiles.

A GEMM op (conv2d, linear, matmul) is ``groups`` independent products of an (M x K) input by a
(K x N) stationary operand. Every group gets its own crossbars:

* **rows**: a conv mapped by kernel position (SpikeSim, NeuroSim's "novel mapping") puts each
  of the ``kh*kw`` positions on its own crossbars with ``C_in/groups`` rows; the unrolled mapping
  splits the ``kh*kw*C_in/groups`` rows of the im2col matrix; linear and matmul ops have ``K``
  rows. Rows are split into ``ceil(rows_per_position / crossbar.rows)`` row blocks.
* **columns**: each of the ``N`` outputs takes ``cols_per_weight`` columns: the weight's bit
  slices (``ceil(b/c)`` for offset encoding, ``ceil((b-1)/c)`` per sign for differential
  pairs, which doubles the columns), split into ``ceil(N * cols_per_weight / crossbar.cols)``
  column blocks.
* **crossbars** = groups x positions x row blocks x column blocks.
* **PEs**: ``kernel_positions`` packing puts the positions of one (row block, column block) in a
  PE (``ceil(positions / pe.crossbars)`` PEs each); ``dense`` packing fills PEs in order.
* **tiles**: ``ceil(sum PEs / pe_per_tile)`` when layers share tiles, else per layer.

Per input vector and input bit-plane the layout gives the crossbar activations (one per
multiplexer step), ADC conversions, driven rows and PE cycles; :mod:`archsim.arch.imc.cost`
multiplies them by the vectors and planes of the op.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from archsim.arch.imc.params import ImcParams
from archsim.errors import ConfigError
from archsim.trace.schema import GEMM_KINDS, Role


@dataclass(frozen=True)
class OpOptions:
    """Per-op settings: the hardware's, overridden by op tags ``imc.<name>``."""

    weight_bits: int
    input_bits: int | None
    conv_mapping: str
    write_pulses: int
    write_verify_iterations: int

    TAGS = {"imc.weight_bits": ("weight_bits", int), "imc.input_bits": ("input_bits", int),
            "imc.conv_mapping": ("conv_mapping", str), "imc.write_pulses": ("write_pulses", int),
            "imc.write_verify_iterations": ("write_verify_iterations", int)}

    @classmethod
    def for_op(cls, params: ImcParams, op) -> "OpOptions":
        weight_bits = params.weight_bits
        if weight_bits is None:     # the trace's own width (8 where the op does not describe it)
            w = stationary_operand(op) if op.kind in GEMM_KINDS else None
            weight_bits = w.bits if w is not None else 8
        opts = cls(weight_bits=weight_bits, input_bits=params.input_bits,
                   conv_mapping=params.mapping.conv, write_pulses=params.write.pulses,
                   write_verify_iterations=params.write.verify_iterations)
        changes = {}
        for tag, value in op.tags.items():
            if not tag.startswith("imc."):
                continue
            if tag not in cls.TAGS:
                raise ConfigError(f"op {op.id}: tags.{tag}: unknown imc option; known: {', '.join(sorted(cls.TAGS))}")
            field, kind = cls.TAGS[tag]
            try:
                value = kind(value)
            except (TypeError, ValueError):
                raise ConfigError(f"op {op.id}: tags.{tag}: expected {kind.__name__}, got {value!r}") from None
            if kind is int and value < (0 if field == "write_verify_iterations" else 1):
                raise ConfigError(f"op {op.id}: tags.{tag}: must be positive, got {value}")
            if field == "conv_mapping" and value not in ("kernel_positions", "unrolled"):
                raise ConfigError(f"op {op.id}: tags.{tag}: expected 'kernel_positions' or 'unrolled', got {value!r}")
            changes[field] = value
        return replace(opts, **changes) if changes else opts


def weight_slices(weight_bits: int, bits_per_cell: int, signed: str) -> int:
    """Cells per stored weight and sign: offset encoding stores w + 2^(b-1) in b bits;
    differential pairs store |w| in b-1 bits on each side."""
    bits = weight_bits if signed == "offset" else max(weight_bits - 1, 1)
    return math.ceil(bits / bits_per_cell)


def cols_per_weight(weight_bits: int, bits_per_cell: int, signed: str) -> int:
    return weight_slices(weight_bits, bits_per_cell, signed) * (2 if signed == "differential" else 1)


def input_planes(bits: int, signed: bool, dac_bits: int) -> int:
    """PE cycles one input vector takes: unsigned values in digits of ``dac_bits``; signed ones
    (two's complement) as ``bits - 1`` magnitude bits in digits plus one sign plane."""
    if bits <= 1 or not signed:
        return math.ceil(bits / dac_bits)
    return math.ceil((bits - 1) / dac_bits) + 1


def _blocks(total: int, size: int) -> tuple[int, int]:
    """(number of full blocks, size of the last partial block or 0)."""
    return total // size, total % size


@dataclass(frozen=True)
class Layout:
    """How one GEMM op sits on the crossbars. Counts are for the whole op (all groups)."""

    op_id: str
    groups: int
    positions: int             # kernel positions on separate crossbars (1 unless conv by position)
    rows_per_position: int     # stationary-operand rows of one position of one group
    weight_cols: int           # N of one group
    cols_per_weight: int       # columns per output: slices (x 2 for differential pairs)
    xbar_rows: int
    xbar_cols: int
    row_blocks: int            # per position
    col_blocks: int
    crossbars: int
    pes: int
    dynamic: bool              # the stationary operand is written at run time
    reads_per_vector: int      # crossbar activations (one per multiplexer step) per input bit-plane
    conversions_per_vector: int
    rows_driven_per_vector: int

    @property
    def columns(self) -> int:
        return self.weight_cols * self.cols_per_weight

    @property
    def cells_used(self) -> int:
        return self.groups * self.positions * self.rows_per_position * self.columns

    @property
    def cells_provisioned(self) -> int:
        return self.crossbars * self.xbar_rows * self.xbar_cols

    @property
    def utilization(self) -> float:
        return self.cells_used / self.cells_provisioned

    @property
    def max_rows_per_crossbar(self) -> int:
        return min(self.xbar_rows, self.rows_per_position)

    @property
    def rows_written(self) -> int:
        """Crossbar rows holding data (each written once per write of the operand)."""
        return self.groups * self.positions * self.rows_per_position * self.col_blocks


def gemm_shape(op, conv_mapping: str) -> tuple[int, int, int, int]:
    """(groups, positions, rows per position, N per group) of a GEMM op."""
    if op.kind == "conv2d":
        cin = op.in_channels // op.groups
        n = op.out_channels // op.groups
        if conv_mapping == "kernel_positions":
            return op.groups, op.kernel_h * op.kernel_w, cin, n
        return op.groups, 1, cin * op.kernel_h * op.kernel_w, n
    g = op.gemm
    return g.groups, 1, g.K, g.N


def stationary_operand(op):
    """The operand held in the crossbars (weight, or ``b`` of a matmul), or None."""
    name = "b" if op.kind == "matmul" else "weight"
    return op.operand(name) if op.has_operand(name) else None


def is_dynamic(op) -> bool:
    """A matmul's ``b`` is written at run time unless the trace marks it static."""
    if op.kind != "matmul":
        return False
    b = stationary_operand(op)
    return b is None or b.role != Role.static_weight


def map_op(op, params: ImcParams, opts: OpOptions) -> Layout:
    xb, adc = params.crossbar, params.adc
    groups, positions, rows_pp, n = gemm_shape(op, opts.conv_mapping)
    cpw = cols_per_weight(opts.weight_bits, xb.bits_per_cell, params.mapping.signed_weights)
    columns = n * cpw
    row_blocks = math.ceil(rows_pp / xb.rows)
    col_blocks = math.ceil(columns / xb.cols)
    crossbars = groups * positions * row_blocks * col_blocks

    xpp = params.pe.crossbars
    if params.pe.packing == "kernel_positions":
        pes = groups * row_blocks * col_blocks * math.ceil(positions / xpp)
    else:
        pes = math.ceil(crossbars / xpp)

    # ADC lanes across one crossbar's width; a crossbar with u used columns needs ceil(u / lanes)
    # multiplexer steps, and each step activates the crossbar once.
    lanes = math.ceil(xb.cols / adc.cols_per_adc)
    full, rem = _blocks(columns, xb.cols)
    steps_per_row_block = full * math.ceil(xb.cols / lanes) + (math.ceil(rem / lanes) if rem else 0)
    reads = groups * positions * row_blocks * steps_per_row_block
    if adc.sharing == "pe":   # the positions of a PE are summed on shared bit lines: one conversion each
        conversions = groups * row_blocks * math.ceil(positions / xpp) * columns
    else:
        conversions = groups * positions * row_blocks * columns
    rows_driven = groups * positions * rows_pp * col_blocks
    return Layout(op_id=op.id, groups=groups, positions=positions, rows_per_position=rows_pp,
                  weight_cols=n, cols_per_weight=cpw, xbar_rows=xb.rows, xbar_cols=xb.cols,
                  row_blocks=row_blocks, col_blocks=col_blocks, crossbars=crossbars, pes=pes,
                  dynamic=is_dynamic(op), reads_per_vector=reads, conversions_per_vector=conversions,
                  rows_driven_per_vector=rows_driven)


@dataclass
class ChipMapping:
    """The whole network on the chip: one layout per GEMM op, and the tiles they occupy."""

    layouts: dict[str, Layout]
    tiles: int

    @property
    def pes(self) -> int:
        return sum(lay.pes for lay in self.layouts.values())

    @property
    def crossbars(self) -> int:
        return sum(lay.crossbars for lay in self.layouts.values())


def map_network(ops, params: ImcParams) -> ChipMapping:
    layouts = {op.id: map_op(op, params, OpOptions.for_op(params, op)) for op in ops if op.kind in GEMM_KINDS}
    per_tile = params.tile.pes
    if params.tile.shared_by_layers:
        tiles = math.ceil(sum(lay.pes for lay in layouts.values()) / per_tile)
    else:
        tiles = sum(math.ceil(lay.pes / per_tile) for lay in layouts.values())
    return ChipMapping(layouts=layouts, tiles=tiles)

