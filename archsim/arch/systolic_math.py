"""Cycle and SRAM-access equations of a systolic array running one GEMM, for the three classic
dataflows. They reproduce SCALE-Sim v3 (3.0.0) exactly; docs/models/systolic.md derives them and
tools/scalesim_golden/EQUATIONS.md describes SCALE-Sim's own counting.

A GEMM ``O[M x N] = A[M x K] @ B[K x N]`` (a convolution in its im2col view: M output pixels, K =
kernel_h * kernel_w * in_channels, N filters) is mapped onto an array of ``rows x cols`` PEs. Two
of the three dimensions are spread over the array (S_r over rows, S_c over columns); the third (T)
streams through it in time:

==========  ==========  ==========  ==========  ==================
dataflow    S_r (rows)  S_c (cols)  T (time)    stays in the PEs
==========  ==========  ==========  ==========  ==================
``os``      M           N           K           outputs
``ws``      K           N           M           weights (filters)
``is``      K           M           N           inputs (ifmap)
==========  ==========  ==========  ==========  ==================

A GEMM larger than the array runs in ``F = ceil(S_r/rows) * ceil(S_c/cols)`` folds, one after
another (column folds outer, row folds inner). One fold takes

* OS: ``rows + cols + T - 2`` cycles (operands stream for T cycles, skewed over rows and columns;
  the accumulated outputs then leave the array);
* WS and IS: ``2*rows + cols + T - 2`` cycles (``rows`` cycles to load the stationary tile, the
  T streamed vectors skewed over the rows, the outputs skewed over the columns).

SCALE-Sim reports the index of the last busy cycle: ``cycles = F * fold_cycles - 1``.

``chunks`` > 1 splits the streamed dimension T into that many pieces, each run through all the
folds (a schedule that keeps partial sums small enough for the output buffer, as TPU v1's
compiler tiles to its accumulators); every piece pays the fold's fill and drain again and reloads
the stationary tile. ``chunks = 1`` is SCALE-Sim's schedule.

Every function accepts numpy arrays (one entry per layer) as well as plain integers.
"""
from __future__ import annotations

import numpy as np

DATAFLOWS = ("ws", "os", "is")


def _ceil_div(a, b):
    return -(-a // b)


def check_dataflow(dataflow: str) -> str:
    if dataflow not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {DATAFLOWS}, got {dataflow!r}")
    return dataflow


def spatio_temporal(dataflow: str, M, K, N):
    """(S_r, S_c, T): the GEMM dimensions on the array rows, the array columns, and in time."""
    return {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[check_dataflow(dataflow)]


def fold_cycles(dataflow: str, rows, cols, T):
    """Cycles of one fold streaming T vectors (full array dimensions, also for a partly used fold)."""
    if check_dataflow(dataflow) == "os":
        return rows + cols + T - 2
    return 2 * rows + cols + T - 2


def gemm_costs(dataflow: str, rows, cols, M, K, N, chunks=1) -> dict[str, np.ndarray]:
    """Cycles, folds, utilisation and SRAM accesses of one ``M x K`` by ``K x N`` product
    (``chunks``: pieces of the streamed dimension, see the module docstring).

    Returns a dict of int64 arrays (floats for the fractions), each shaped like the broadcast
    inputs:

    ``cycles``               SCALE-Sim's "Total Cycles": F * fold_cycles - 1 (with chunks:
                             F * (chunks * fold_cycles(T=0) + T) - 1)
    ``row_folds``, ``col_folds``, ``folds``
    ``ifmap_sram_reads``     words of A read by the array (SCALE-Sim "SRAM IFMAP Reads")
    ``filter_sram_reads``    words of B read by the array ("SRAM Filter Reads")
    ``ofmap_sram_writes``    output words written, partial sums of every row fold included
                             (SCALE-Sim's "SRAM OFMAP Writes" for WS and IS; for OS SCALE-Sim
                             adds rows + cols per fold, see :func:`scalesim_ofmap_writes`)
    ``psum_sram_reads``      partial sums read back to accumulate the next row fold (WS, IS);
                             SCALE-Sim does not count these
    ``mapping_efficiency``   mean over folds of the fraction of PEs mapped (0..1)
    ``compute_utilization``  SCALE-Sim's "Compute Util" / 100 (its denominator for WS/IS is
                             2*rows + 2*cols + T - 3, one cols - 1 more than the fold; chunks = 1)
    ``macs``                 M * K * N
    """
    M, K, N, rows, cols, chunks = (np.asarray(x, dtype=np.int64) for x in (M, K, N, rows, cols, chunks))
    Sr, Sc, T = spatio_temporal(dataflow, M, K, N)
    Fr, Fc = _ceil_div(Sr, rows), _ceil_div(Sc, cols)
    F = Fr * Fc
    cycles = F * (chunks * fold_cycles(dataflow, rows, cols, 0) + T) - 1
    if dataflow == "os":
        ifmap_reads, filter_reads, ofmap_writes = Fc * M * K, Fr * K * N, M * N
        psum_reads = np.zeros_like(ofmap_writes)
        util_den = rows + cols + T - 2
    else:
        # the stationary tile is read again for every chunk
        if dataflow == "ws":
            ifmap_reads, filter_reads = Fc * M * K, chunks * K * N
        else:
            ifmap_reads, filter_reads = chunks * M * K, Fc * K * N
        ofmap_writes = Fr * M * N
        psum_reads = (Fr - 1) * M * N
        util_den = 2 * rows + 2 * cols + T - 3
    pe_slots = F * rows * cols
    return {
        "cycles": cycles,
        "row_folds": Fr,
        "col_folds": Fc,
        "folds": F,
        "ifmap_sram_reads": ifmap_reads,
        "filter_sram_reads": filter_reads,
        "ofmap_sram_writes": ofmap_writes,
        "psum_sram_reads": psum_reads,
        "mapping_efficiency": Sr * Sc / pe_slots,
        "compute_utilization": Sr * Sc * T / (pe_slots * util_den),
        "macs": M * K * N,
    }


def scalesim_ofmap_writes(dataflow: str, rows, cols, M, K, N):
    """SCALE-Sim 3.0.0's "SRAM OFMAP Writes". Equal to ``ofmap_sram_writes`` for WS and IS; for
    OS its output-stationary class also adds the padded fold's ``rows + cols`` to the count once
    per fold (a sum of the block's two dimensions where its size was meant), so it reports
    ``M*N + F*(rows + cols)``. We count the real ``M*N`` writes and keep this here only to show
    that the difference is exactly that artefact."""
    c = gemm_costs(dataflow, rows, cols, M, K, N)
    extra = c["folds"] * (np.asarray(rows) + np.asarray(cols)) if dataflow == "os" else 0
    return c["ofmap_sram_writes"] + extra


def conv_output_size_scalesim(size, kernel, stride):
    """SCALE-Sim's output size of an unpadded convolution: ``ceil((size - kernel + stride) /
    stride)``. It is one larger than the usual ``(size - kernel) // stride + 1`` when the stride
    does not divide ``size - kernel``: SCALE-Sim then keeps a last window that runs past the
    input edge (its addresses there are marked invalid, but the slots are still computed)."""
    return _ceil_div(np.asarray(size) - kernel + stride, stride)
