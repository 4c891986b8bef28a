"""``systolic``: a dense systolic array (input-, weight- or output-stationary) with separate
ifmap, filter and ofmap SRAM buffers, DRAM, and an optional vector unit. The dense baseline the
sparse and spiking designs are compared with. See docs/models/systolic.md.

GEMM ops (conv2d in its im2col view, linear, matmul): compute cycles, folds and SRAM reads come
from :mod:`archsim.arch.systolic_math`, which reproduces SCALE-Sim v3 exactly. On top of that
this module counts, per op,

* bits: operand widths from the trace change memory traffic and the multiplier energy (a W2
  weight moves a quarter of the bits of a W8 weight and drives a quarter of the multiplier's
  partial products); operands wider than the PE's multiplier are refused;
* DRAM traffic from the reuse the buffers allow (the active half of a double-buffered SRAM
  holds the working set): an operand that fits is fetched once; one whose reuse distance fits is
  fetched once per pass of the loop that re-streams it; otherwise fold by fold. Partial sums that
  do not fit in the ofmap buffer spill to DRAM between row folds, or (``psum_tiling``) the stream
  is cut into chunks that fit;
* stall cycles when DRAM cannot deliver the op's traffic within its compute cycles (transfers
  overlap compute: ``cycles = max(compute, DRAM bytes / bytes per cycle)``);
* quantised operands (:mod:`archsim.arch.quant_cost`): scales and zero points move with their
  weights; dequantisation runs on the vector unit, overlapped with the array;
* actions for pricing: multiplier partial products (``bit_product``), accumulator bits
  (``add_bit``), reads and writes per bit of each buffer, DRAM bits.

Timesteps: when the stationary operand is a static weight, the T timesteps of an op stream
through the array together (T x M rows, one weight load); a weight produced at run time differs
per timestep, so then the T products run one after another, like groups.

Non-GEMM ops run on the vector unit when ``vector_lanes`` is set (see
:mod:`archsim.arch.vector_ops`); without one the model refuses them.
"""
from __future__ import annotations

import math
from typing import Literal

import pydantic

from archsim.arch import quant_cost, systolic_scalesim
from archsim.arch import systolic_math as sm
from archsim.arch.base import ActionCounter, HardwareModel, OpContext, OpCost
from archsim.arch.vector_ops import (OpsPerElement, default_ops_per_element, vector_cycles, vector_io_bits,
                                     vector_ops)
from archsim.config.validation import Strict
from archsim.errors import ConfigError, UnsupportedOpError
from archsim.trace.schema import GEMM_KINDS, OP_KINDS, Role

BITS_PER_KIB = 8192


class OperandBandwidth(Strict):
    ifmap: float = pydantic.Field(gt=0, description="ifmap (input) DRAM bandwidth, bytes per cycle")
    filter: float = pydantic.Field(gt=0, description="filter (weight) DRAM bandwidth, bytes per cycle")
    ofmap: float = pydantic.Field(gt=0, description="ofmap (output) DRAM bandwidth, bytes per cycle")


class SystolicParams(Strict):
    rows: int = pydantic.Field(ge=1, description="PE rows (SCALE-Sim ArrayHeight)")
    cols: int = pydantic.Field(ge=1, description="PE columns (SCALE-Sim ArrayWidth)")
    dataflow: Literal["ws", "os", "is"] = pydantic.Field(description="weight-, output- or input-stationary")
    ifmap_sram_kib: float = pydantic.Field(gt=0, description="ifmap (input) buffer, KiB")
    filter_sram_kib: float = pydantic.Field(gt=0, description="filter (weight) buffer, KiB")
    ofmap_sram_kib: float = pydantic.Field(gt=0, description="ofmap (output and partial-sum) buffer, KiB")
    sram_active_fraction: float = pydantic.Field(
        default=0.5, gt=0, le=1, description="fraction of each buffer holding the working set (double buffering: 0.5)")
    psum_tiling: bool = pydantic.Field(
        default=False, description="cut the stream into chunks whose partial sums fit the ofmap buffer "
                                   "(TPU-style) instead of spilling them to DRAM (SCALE-Sim's schedule)")
    dram_bandwidth_gbps: float | None = pydantic.Field(
        default=None, gt=0, description="DRAM bandwidth, GB/s, one channel shared by the three operands; "
                                        "null = unlimited (no stalls, SCALE-Sim CALC mode)")
    dram_bytes_per_cycle: OperandBandwidth | None = pydantic.Field(
        default=None, description="DRAM bandwidth per operand (ifmap, filter, ofmap), bytes per cycle "
                                  "(SCALE-Sim USER mode: IfmapSRAMBankBandwidth, FilterSRAMBankBandwidth, "
                                  "Bandwidth[0], words of 1 byte); null = see dram_bandwidth_gbps")
    dram_model: Literal["reuse", "scalesim"] = pydantic.Field(
        default="reuse", description="DRAM traffic and stalls: 'reuse' = closed-form reuse tiers (our model); "
                                     "'scalesim' = SCALE-Sim 3.0.0's buffers replayed request by request "
                                     "(exact against its reports, its artefacts included)")
    pe_input_bits: int = pydantic.Field(default=8, ge=1, description="widest input the PE multiplier takes")
    pe_weight_bits: int = pydantic.Field(default=8, ge=1, description="widest weight the PE multiplier takes")
    psum_bits: int = pydantic.Field(default=32, ge=1, description="accumulator / partial-sum width")
    output_bits: int | None = pydantic.Field(
        default=None, ge=1, description="bits of an output written back when the trace gives no output "
                                        "operand; null = the input's width")
    vector_lanes: int | None = pydantic.Field(default=None, ge=1, description="lanes of the vector unit "
                                              "for non-GEMM ops; null = no vector unit")
    vector_bits: int = pydantic.Field(default=8, ge=1, description="bits of a vector-op element whose "
                                      "operands the trace does not describe")
    ops_per_element: OpsPerElement = pydantic.Field(default_factory=default_ops_per_element)

    @pydantic.model_validator(mode="after")
    def _check_dram(self):
        if self.dram_bandwidth_gbps is not None and self.dram_bytes_per_cycle is not None:
            raise ValueError("give either dram_bandwidth_gbps (one shared channel) or dram_bytes_per_cycle "
                             "(per operand), not both")
        if self.dram_model == "scalesim":
            if self.dram_bandwidth_gbps is not None:
                raise ValueError("dram_model 'scalesim' replays SCALE-Sim's per-operand channels: set "
                                 "dram_bytes_per_cycle (its USER mode) or nothing (CALC), not dram_bandwidth_gbps")
            if self.psum_tiling:
                raise ValueError("dram_model 'scalesim' replays SCALE-Sim's schedule, which has no psum_tiling")
            if not 0.5 <= self.sram_active_fraction < 1:
                raise ValueError("dram_model 'scalesim': SCALE-Sim's buffers take an sram_active_fraction "
                                 f"in [0.5, 1), got {self.sram_active_fraction}")
            bw = self.dram_bytes_per_cycle
            if bw is not None and any(v != int(v) for v in (bw.ifmap, bw.filter, bw.ofmap)):
                raise ValueError("dram_model 'scalesim': dram_bytes_per_cycle are SCALE-Sim's words (1 byte) "
                                 "per cycle and must be whole numbers")
        return self


class SystolicModel(HardwareModel):
    name = "systolic"
    description = "dense systolic array, IS/WS/OS, ifmap/filter/ofmap SRAMs, DRAM (analytical; cycles exact vs SCALE-Sim)"
    Params = SystolicParams
    kinds = OP_KINDS

    def __init__(self, hw):
        super().__init__(hw)
        # without a vector unit only the GEMM ops can run (the engine names these in its error)
        self.kinds = OP_KINDS if self.params.vector_lanes is not None else GEMM_KINDS

    @classmethod
    def check(cls, hw) -> None:
        """The tables price each buffer from its size (``<buffer>_sram_kib`` table variables):
        those must be the sizes in ``params``."""
        for path, table in hw.table.files:
            for key in ("ifmap_sram_kib", "filter_sram_kib", "ofmap_sram_kib"):
                if key in table.variables and float(table.variables[key]) != float(getattr(hw.params, key)):
                    raise ConfigError(
                        f"{hw.path or hw.name}: energy.variables.{key}: the table {path.name} prices a "
                        f"{table.variables[key]} KiB buffer but params.{key} is {getattr(hw.params, key)}; "
                        "set both from one variable")

    def instances(self) -> dict[str, float]:
        p = self.params
        pes = p.rows * p.cols
        out = {
            "multiplier": pes * p.pe_input_bits * p.pe_weight_bits,   # partial-product bits
            "accumulator": pes * p.psum_bits,                         # adder bits
            "ifmap_sram": p.ifmap_sram_kib * BITS_PER_KIB,
            "filter_sram": p.filter_sram_kib * BITS_PER_KIB,
            "ofmap_sram": p.ofmap_sram_kib * BITS_PER_KIB,
        }
        if p.vector_lanes:
            out["vector"] = p.vector_lanes
        return out

    def run_op(self, op, ctx: OpContext) -> OpCost:
        return self._gemm(op) if op.kind in GEMM_KINDS else self._vector(op)

    # -- GEMM ops -------------------------------------------------------------------------------
    @staticmethod
    def _operands(op):
        """(A, B): the streamed input and the weight-like operand, None where not described."""
        a_name, b_name = ("a", "b") if op.kind == "matmul" else ("input", "weight")
        return (op.operand(a_name) if op.has_operand(a_name) else None,
                op.operand(b_name) if op.has_operand(b_name) else None)

    def _operand_bits(self, op, a, b) -> tuple[int, int, int, bool]:
        """(input bits, weight bits, output bits, weight is static)."""
        p = self.params
        in_bits = a.bits if a else p.pe_input_bits
        w_bits = b.bits if b else p.pe_weight_bits
        if in_bits > p.pe_input_bits or w_bits > p.pe_weight_bits:
            raise UnsupportedOpError(
                f"op '{op.id}': {in_bits}-bit inputs x {w_bits}-bit weights do not fit the array's "
                f"{p.pe_input_bits} x {p.pe_weight_bits}-bit multipliers (params.pe_input_bits, "
                "params.pe_weight_bits)")
        if op.output is not None:
            out_bits = op.output.bits
        else:
            out_bits = p.output_bits if p.output_bits is not None else in_bits
        static = b.role == Role.static_weight if b is not None else op.kind != "matmul"
        return in_bits, w_bits, out_bits, static

    def _gemm(self, op) -> OpCost:
        p, g, T = self.params, op.gemm, op.timesteps
        a_op, w_op = self._operands(op)
        in_bits, w_bits, out_bits, static = self._operand_bits(op, a_op, w_op)
        # T timesteps share a static weight: stream them together; else T separate products
        M, groups = (g.M * T, g.groups) if static else (g.M, g.groups * T)
        K, N = g.K, g.N
        # words of one product (one group): unique inputs, weights, outputs
        in_words = (a_op.numel // g.groups if a_op is not None else g.M * K) * (T if static else 1)
        w_words = w_op.numel // g.groups if w_op is not None else K * N
        out_words = M * N

        in_channels = (op.in_channels // g.groups if op.kind == "conv2d" else K)
        replay = None
        if p.dram_model == "scalesim":
            # SCALE-Sim's buffers replayed on this product's request streams (identical for every group)
            replay = systolic_scalesim.replay_op(op, p, M, K, N, T if static else 1)
            chunks = 1
            dram = {"ifmap": replay["DRAM IFMAP Reads"], "filter": replay["DRAM Filter Reads"], "psum_spill": 0}
        else:
            chunks, dram = self._schedule(M, K, N, in_words, in_channels, w_words, in_bits, w_bits)
        costs = sm.gemm_costs(p.dataflow, p.rows, p.cols, M, K, N, chunks)
        c = {k: int(v) for k, v in costs.items() if k not in ("mapping_efficiency", "compute_utilization")}
        psum_words = c["ofmap_sram_writes"] - out_words          # partial sums written (row folds > 1)
        spill = dram["psum_spill"]                               # of those, words that go to DRAM and back
        # SCALE-Sim writes every word of its ofmap stream (partial sums too) to DRAM once
        ofmap_dram_bits = (replay["DRAM OFMAP Writes"] * out_bits if replay is not None
                           else out_words * out_bits + spill * p.psum_bits)
        # quantised weights bring scales / zero points (archsim.arch.quant_cost), fetched and read
        # as often as the weights they belong to
        meta = quant_cost.metadata_bits(op) / g.groups
        meta_fetched = meta * dram["filter"] / w_words if w_words else 0.0
        meta_read = meta * c["filter_sram_reads"] / (K * N) if K * N else 0.0
        bits = {
            "ifmap_sram.read_bit": c["ifmap_sram_reads"] * in_bits,
            "ifmap_sram.write_bit": dram["ifmap"] * in_bits,
            "filter_sram.read_bit": c["filter_sram_reads"] * w_bits + meta_read,
            "filter_sram.write_bit": dram["filter"] * w_bits + meta_fetched,
            "ofmap_sram.write_bit": (psum_words + spill) * p.psum_bits + out_words * out_bits,
            "ofmap_sram.read_bit": (c["psum_sram_reads"] + spill) * p.psum_bits + out_words * out_bits,
            "dram.read_bit": dram["ifmap"] * in_bits + dram["filter"] * w_bits + meta_fetched + spill * p.psum_bits,
            "dram.write_bit": ofmap_dram_bits,
        }
        acts = ActionCounter()
        acts.add("multiplier", "bit_product", groups * c["macs"] * in_bits * w_bits)
        acts.add("accumulator", "add_bit", groups * c["macs"] * p.psum_bits)
        for key, count in bits.items():
            component, action = key.split(".")
            acts.add(component, action, groups * count)
        # dequantisation (group / channel scales, zero points, per-token activation scales) on the
        # vector unit as the outputs leave the array, overlapped with the array and DRAM
        dequant = quant_cost.total_dequant_ops(op)
        dequant_cycles = 0.0
        if dequant:
            if not p.vector_lanes:
                raise UnsupportedOpError(
                    f"op '{op.id}': quantised operands need a vector unit for their dequantisation "
                    "(params.vector_lanes)")
            acts.add("vector", "op", dequant)
            dequant_cycles = float(vector_cycles(dequant, p.vector_lanes))

        compute_cycles = groups * c["cycles"]
        dram_bytes = groups * (bits["dram.read_bit"] + bits["dram.write_bit"]) / 8
        if replay is not None:
            array_cycles = groups * replay["Total Cycles"]           # SCALE-Sim's, stalls included
            stall_cycles = groups * replay["Stall Cycles"]
        else:
            # partial sums spill over the ofmap channel and come back over it
            per_operand = {"ifmap": dram["ifmap"] * in_bits, "filter": dram["filter"] * w_bits + meta_fetched,
                           "ofmap": bits["dram.write_bit"] + spill * p.psum_bits}
            array_cycles = max(compute_cycles, self._dram_cycles(
                {k: groups * v / 8 for k, v in per_operand.items()}))
            stall_cycles = array_cycles - compute_cycles
        cycles = max(array_cycles, dequant_cycles)
        sram_bytes = groups * sum(v for k, v in bits.items() if "sram" in k) / 8
        macs = groups * c["macs"]
        folds = groups * c["folds"] * chunks
        metrics = {
            "compute_cycles": float(compute_cycles),
            "stall_cycles": float(stall_cycles),
            "folds": float(folds),
            # SCALE-Sim's mapping efficiency and compute utilisation of this op (means over its folds);
            # the folds_x_ columns let the summary average them over all folds of the trace
            "mapping_efficiency": float(costs["mapping_efficiency"]),
            "compute_utilization": float(costs["compute_utilization"]),
            "folds_x_mapping_efficiency": folds * float(costs["mapping_efficiency"]),
            "folds_x_compute_utilization": folds * float(costs["compute_utilization"]),
            "ifmap_sram_reads": float(groups * c["ifmap_sram_reads"]),
            "filter_sram_reads": float(groups * c["filter_sram_reads"]),
            "ofmap_sram_writes": float(groups * c["ofmap_sram_writes"]),
            "psum_sram_reads": float(groups * c["psum_sram_reads"]),
            "dram_ifmap_read_bytes": groups * dram["ifmap"] * in_bits / 8,
            "dram_filter_read_bytes": groups * (dram["filter"] * w_bits + meta_fetched) / 8,
            "dram_weight_read_bytes": groups * (dram["filter"] * w_bits + meta_fetched) / 8 if static else 0.0,
            "dequant_ops": float(dequant),
            "dequant_cycles": dequant_cycles,
            "dram_ofmap_write_bytes": groups * ofmap_dram_bits / 8,
            "dram_psum_spill_bytes": groups * 2 * spill * p.psum_bits / 8,
        }
        if replay is not None:
            # SCALE-Sim's "Total Cycles (incl. prefetch)": from the first DRAM prefetch to the last ofmap drain
            metrics["total_cycles_incl_prefetch"] = float(groups * replay["Total Cycles (incl. prefetch)"])
        return OpCost(
            cycles=cycles,
            actions=acts.as_dict(),
            traffic_bytes={"dram": dram_bytes, "sram": sram_bytes},
            macs_effectual=float(macs),
            utilization=macs / (p.rows * p.cols * cycles) if cycles else 0.0,
            metrics=metrics,
        )

    def _schedule(self, M: int, K: int, N: int, in_words: int, in_channels: int, w_words: int,
                  in_bits: int, w_bits: int) -> tuple[int, dict[str, int]]:
        """Chunks of the streamed dimension, and the words moved between DRAM and the buffers for
        one product. Loop order: column folds, then chunks, then row folds (SCALE-Sim's, with
        chunks inserted). See docs/models/systolic.md, "DRAM traffic".

        A buffer holds ``sram_active_fraction`` of its size as working set. Each operand is
        fetched

        1. once, if all of it fits;
        2. once per pass of the loop that re-streams it, if the words touched between two uses
           of a word within a pass (its reuse distance, counted in folds) fit;
        3. otherwise fold by fold: every fold fetches the distinct words it touches.

        Partial sums of a column fold (WS, IS with more than one row fold) that do not fit in the
        ofmap buffer either spill to DRAM and come back for every row fold after the first
        (``psum_spill`` words each way), or, with ``psum_tiling``, the stream is cut into chunks
        that fit."""
        p = self.params
        cap = {name: getattr(p, f"{name}_sram_kib") * BITS_PER_KIB * p.sram_active_fraction
               for name in ("ifmap", "filter", "ofmap")}
        df = p.dataflow
        Sr, Sc, T = sm.spatio_temporal(df, M, K, N)
        Fr, Fc = -(-Sr // p.rows), -(-Sc // p.cols)
        live = min(p.cols, Sc)                  # partial-sum columns of one column fold
        chunks, spill = 1, 0
        if df != "os" and Fr > 1 and T * live * p.psum_bits > cap["ofmap"]:
            if p.psum_tiling:
                chunks = -(-T // max(1, int(cap["ofmap"] // (live * p.psum_bits))))
            else:
                spill = (Fr - 1) * M * N
        # Input words a block of u k-indices touches over ``rows`` rows of the stream: u per row,
        # but no more than those channels' share of the input (the im2col matrix of a conv repeats
        # input words across kernel positions; k runs channel-fastest, as in SCALE-Sim).
        used = min(in_words, M * K)             # a strided 1x1 conv skips part of its input
        per_channel = used / in_channels

        def k_block_words(u: int, rows: float) -> float:
            return min(rows * u, min(in_channels, u) * per_channel * rows / M)

        last = Sr - (Fr - 1) * p.rows
        all_k_blocks = (Fr - 1) * k_block_words(p.rows, M) + k_block_words(last, M)  # one pass, fold by fold

        def fetched(words: float, bits: int, cap_bits: float, fold_words: float, passes: int,
                    fold_by_fold: float) -> float:
            if words * bits <= cap_bits:
                return words
            if fold_words * bits <= cap_bits:
                return words * passes
            return fold_by_fold

        if df == "ws":
            # The ifmap streams once per column fold, k-block by k-block over each chunk of rows.
            # A word comes back with the next kernel position of its channel: in the next fold when
            # a fold spans all channels, else after one fold per block of channels.
            u0 = min(p.rows, Sr)
            reuse = k_block_words(u0, -(-M // chunks)) * -(-in_channels // min(in_channels, u0))
            ifmap = fetched(used, in_bits, cap["ifmap"], reuse, Fc, Fc * all_k_blocks)
            # weight tiles are loaded once per chunk: if a column strip (K x cols) fits, once in all
            filt = fetched(w_words, w_bits, cap["filter"], K * live, 1, chunks * w_words)
        elif df == "is":
            # ifmap tiles are loaded once per chunk: a column strip (all k, cols rows of M) fitting
            # serves all chunks, else every tile fetches its words again per chunk.
            ifmap = fetched(used, in_bits, cap["ifmap"], used * live / M, 1, chunks * all_k_blocks)
            filt = fetched(w_words, w_bits, cap["filter"], w_words, Fc, Fc * w_words)
        else:
            # ifmap streams row blocks of M (all k) once per column fold; a column strip of
            # weights (K x cols) serves all row folds of its column fold if it fits
            ifmap = fetched(used, in_bits, cap["ifmap"], used * min(p.rows, M) / M, Fc, Fc * used)
            filt = fetched(w_words, w_bits, cap["filter"], K * live, 1, Fr * w_words)
        return chunks, {"ifmap": round(ifmap), "filter": round(filt), "psum_spill": spill}

    def _dram_cycles(self, dram_bytes: dict[str, float]) -> int:
        """Whole cycles to move ``dram_bytes`` (per operand: ifmap, filter, ofmap) over one shared
        channel (``dram_bandwidth_gbps``) or one channel per operand (``dram_bytes_per_cycle``)."""
        p = self.params
        if p.dram_bytes_per_cycle is not None:
            bw = p.dram_bytes_per_cycle
            return math.ceil(max(dram_bytes.get(k, 0.0) / getattr(bw, k) for k in ("ifmap", "filter", "ofmap")))
        if p.dram_bandwidth_gbps is None:
            return 0
        return math.ceil(sum(dram_bytes.values()) / (p.dram_bandwidth_gbps * 1e9 / (self.clock_mhz * 1e6)))

    def summarize(self, summary: dict) -> dict:
        """Mapping efficiency and compute utilisation of the whole trace: SCALE-Sim's per-layer means
        over folds, extended to a mean over all folds of all GEMM ops (the per-op values are in
        ops.csv; summing them, as the engine does for other metrics, would mean nothing)."""
        metrics = dict(summary.get("metrics", {}))
        folds = metrics.get("folds", 0.0)
        out = {}
        for key in ("mapping_efficiency", "compute_utilization"):
            weighted = metrics.pop(f"folds_x_{key}", None)
            metrics.pop(key, None)
            if weighted is not None and folds:
                out[key] = weighted / folds
                metrics[key] = out[key]
        return {**out, "metrics": metrics} if out else {}

    # -- other ops --------------------------------------------------------------------------------
    def _vector(self, op) -> OpCost:
        p = self.params
        ops = vector_ops(op, p.ops_per_element)
        read_bits, write_bits = vector_io_bits(op, p.vector_bits)
        acts = ActionCounter()
        acts.add("vector", "op", ops)
        acts.add("dram", "read_bit", read_bits)
        acts.add("dram", "write_bit", write_bits)
        compute_cycles = vector_cycles(ops, p.vector_lanes)
        dram_bytes = (read_bits + write_bits) / 8
        # a vector op's operands come in and its results go out over the ifmap and ofmap channels
        cycles = max(compute_cycles, self._dram_cycles({"ifmap": read_bits / 8, "ofmap": write_bits / 8}))
        return OpCost(
            cycles=cycles, actions=acts.as_dict(), traffic_bytes={"dram": dram_bytes},
            utilization=ops / (p.vector_lanes * cycles) if cycles else 0.0,
            metrics={"compute_cycles": float(compute_cycles), "stall_cycles": float(cycles - compute_cycles)})
