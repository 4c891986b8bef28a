"""The LoAS Table II statistics of a trace: spike sparsity, silent-neuron ratios, weight sparsity.

Definitions follow the LoAS artifact (``artifact/Table-II/loas_input_convert.py``, read for the
definitions; see ``shared/research/loas.md`` 3.3 and 7.2). For each profiled layer the input spike
tensor is turned into its GEMM view ``A`` of shape ``[T, M, K]`` (im2col for a convolution:
padding zeros and the duplication of each neuron into up to kh*kw columns count, as in the
artifact; a linear layer's input is already ``[T, tokens, K]``), and:

* **spike sparsity** = 1 - nnz(A) / (T*M*K)                 (the "spikes/neuron" sparsity)
* **packing**: P[m, k] = sum over t of A[t, m, k]            (a neuron's spikes in T)
* **silent ratio, normal** = #(P == 0) / (M*K)
* **silent ratio, strong** = #(P <= 1) / (M*K)               (neurons firing once count as silent)
* **weight sparsity** = 1 - nnz(W) / numel(W)

Whole-network figures are element-weighted: sums of the counts over the profiled layers divided
by the sums of their sizes. The profiled layers are, by default, every conv2d whose input is a
spike tensor except the first GEMM layer of the network (the direct-encoding layer, which the
artifact skips); ``kinds`` can add linear layers.

Layers whose spike tensor is not stored fall back to the operand's spike-count histogram, i.e.
the statistics of the neurons themselves without im2col; the ``view`` field says which was used.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from archsim.errors import TraceError
from archsim.trace.im2col import im2col
from archsim.trace.io import Trace
from archsim.trace.packing import spike_counts
from archsim.trace.schema import GEMM_KINDS, Role


@dataclass(frozen=True)
class SpikeCounts:
    """Counts over one GEMM view (or a sum of them)."""

    timesteps: int
    neurons: int          # M*K elements of the packed matrix
    spikes: int           # nonzeros of A over all T
    silent: int           # packed elements equal to 0
    silent_strong: int    # packed elements equal to 0 or 1
    weights: int
    weight_nonzeros: int

    @property
    def spike_sparsity(self) -> float:
        return 1.0 - self.spikes / (self.timesteps * self.neurons) if self.neurons else 0.0

    @property
    def silent_ratio(self) -> float:
        return self.silent / self.neurons if self.neurons else 0.0

    @property
    def silent_ratio_strong(self) -> float:
        return self.silent_strong / self.neurons if self.neurons else 0.0

    @property
    def weight_sparsity(self) -> float:
        return 1.0 - self.weight_nonzeros / self.weights if self.weights else 0.0

    def __add__(self, other: "SpikeCounts") -> "SpikeCounts":
        if self.timesteps != other.timesteps:
            raise ValueError("cannot add statistics of different T")
        return SpikeCounts(self.timesteps, *(getattr(self, f) + getattr(other, f) for f in
                                             ("neurons", "spikes", "silent", "silent_strong",
                                              "weights", "weight_nonzeros")))


@dataclass(frozen=True)
class LayerRow:
    op_id: str
    kind: str
    M: int
    K: int
    N: int
    view: str             # "im2col" (the GEMM view of the stored spikes) or "neurons" (histogram)
    counts: SpikeCounts

    def as_dict(self) -> dict:
        c = self.counts
        return {"op": self.op_id, "kind": self.kind, "M": self.M, "K": self.K, "N": self.N,
                "view": self.view, "spike_sparsity": c.spike_sparsity, "silent_ratio": c.silent_ratio,
                "silent_ratio_strong": c.silent_ratio_strong, "weight_sparsity": c.weight_sparsity,
                **{f"count_{k}": v for k, v in asdict(c).items()}}


@dataclass(frozen=True)
class LoasTable:
    layers: list[LayerRow]
    network: SpikeCounts
    excluded: list[tuple[str, str]]    # (op id, why)

    def as_dict(self) -> dict:
        n = self.network
        return {"layers": [r.as_dict() for r in self.layers],
                "network": {"spike_sparsity": n.spike_sparsity, "silent_ratio": n.silent_ratio,
                            "silent_ratio_strong": n.silent_ratio_strong,
                            "weight_sparsity": n.weight_sparsity,
                            **{f"count_{k}": v for k, v in asdict(n).items()}},
                "excluded": [{"op": o, "reason": r} for o, r in self.excluded]}


def packed_counts(words: np.ndarray, T: int) -> tuple[int, int, int, int]:
    """(elements, spikes, silent, silent_strong) of packed spike words (bit t = timestep t)."""
    c = spike_counts(words)
    return int(c.size), int(c.sum()), int((c == 0).sum()), int((c <= 1).sum())


def _weight_counts(trace: Trace, op) -> tuple[int, int]:
    w = op.operand("weight")
    if w.tensor is not None:
        return w.numel, int(np.count_nonzero(trace.tensor(w.tensor)))
    if w.sparsity is not None and w.sparsity.row_nnz is not None:
        return w.numel, int(sum(w.sparsity.row_nnz))
    return w.numel, int(round(w.density * w.numel))


def layer_counts(trace: Trace, op, im2col_view: bool = True) -> tuple[SpikeCounts, str]:
    """Statistics of one conv2d/linear op with a spike input."""
    x = op.operand("input")
    T = op.timesteps
    weights, w_nnz = _weight_counts(trace, op)
    if im2col_view and x.tensor is not None:
        words = trace.stored_array(x.tensor)
        if op.kind == "conv2d":
            words = im2col(words, op)
        else:
            words = words.reshape(op.gemm.M, op.gemm.K)
        n, spikes, silent, strong = packed_counts(words, T)
        return SpikeCounts(T, n, spikes, silent, strong, weights, w_nnz), "im2col"
    hist = x.sparsity.spike_count_histogram if x.sparsity is not None else None
    if not hist or len(hist) != T + 1:
        raise TraceError(f"{trace._where()}: op {op.id}: input spikes have neither a stored tensor "
                         "nor a spike-count histogram")
    n = int(sum(hist))
    spikes = int(sum(c * h for c, h in enumerate(hist)))
    return SpikeCounts(T, n, spikes, int(hist[0]), int(hist[0] + hist[1]), weights, w_nnz), "neurons"


def loas_table(trace: Trace, kinds: tuple[str, ...] = ("conv2d",), exclude_first: bool = True,
               im2col_view: bool = True) -> LoasTable:
    """Table II of LoAS for ``trace`` (see the module docstring)."""
    bad = set(kinds) - {"conv2d", "linear"}
    if bad:
        raise TraceError(f"LoAS statistics cover conv2d and linear layers, not {', '.join(sorted(bad))}")
    rows, excluded, total = [], [], None
    first = True
    for op in trace.ops:
        if op.kind not in GEMM_KINDS:
            continue
        is_first, first = first, False
        if exclude_first and is_first:
            excluded.append((op.id, "first layer (direct encoding)"))
            continue
        if op.kind not in kinds:
            excluded.append((op.id, f"{op.kind} not profiled"))
            continue
        if op.operand("input").role != Role.spike:
            excluded.append((op.id, f"input is {op.operand('input').role.value}, not spikes"))
            continue
        counts, view = layer_counts(trace, op, im2col_view)
        g = op.gemm
        rows.append(LayerRow(op.id, op.kind, g.M, g.K, g.N, view, counts))
        total = counts if total is None else total + counts
    if total is None:
        raise TraceError(f"{trace._where()}: no layer with spike inputs to profile "
                         f"(kinds {', '.join(kinds)}; excluded: {', '.join(o for o, _ in excluded) or 'none'})")
    return LoasTable(rows, total, excluded)


def format_table(table: LoasTable, title: str = "") -> str:
    """Fixed-width text: one row per layer, then the network."""
    head = (f"{'layer':<24} {'M':>6} {'K':>6} {'N':>5}  {'spike sp. %':>11} {'silent %':>9} "
            f"{'strong %':>9} {'weight sp. %':>12}  view")
    lines = ([title] if title else []) + [head, "-" * len(head)]
    pct = lambda v: f"{100 * v:.2f}"  # noqa: E731
    for r in table.layers:
        c = r.counts
        lines.append(f"{r.op_id[:24]:<24} {r.M:>6} {r.K:>6} {r.N:>5}  {pct(c.spike_sparsity):>11} "
                     f"{pct(c.silent_ratio):>9} {pct(c.silent_ratio_strong):>9} "
                     f"{pct(c.weight_sparsity):>12}  {r.view}")
    n = table.network
    lines.append("-" * len(head))
    lines.append(f"{'network':<24} {'':>6} {'':>6} {'':>5}  {pct(n.spike_sparsity):>11} "
                 f"{pct(n.silent_ratio):>9} {pct(n.silent_ratio_strong):>9} {pct(n.weight_sparsity):>12}")
    for op_id, why in table.excluded:
        lines.append(f"not profiled: {op_id} ({why})")
    return "\n".join(lines)


def format_summary(rows: list[tuple[str, Trace, LoasTable]]) -> str:
    """One line per trace: the network-level Table II columns and the recorded accuracy."""
    w = max([36] + [len(name) for name, _, _ in rows])     # whole paths: they tell the traces apart
    head = (f"{'trace':<{w}} {'accuracy %':>10}  {'spike sp. %':>11} {'silent %':>9} {'strong %':>9} "
            f"{'weight sp. %':>12}")
    lines = [head, "-" * len(head)]
    for name, trace, table in rows:
        n = table.network
        acc = trace.header.metrics.get("accuracy_top1")
        acc_s = f"{100 * acc:.2f}" if acc is not None else "-"
        lines.append(f"{name:<{w}} {acc_s:>10}  {100 * n.spike_sparsity:11.2f} {100 * n.silent_ratio:9.2f} "
                     f"{100 * n.silent_ratio_strong:9.2f} {100 * n.weight_sparsity:12.2f}")
    return "\n".join(lines)


TABLE_COLUMNS = ["network", "trace", "test accuracy % (ours)", "spike sparsity % (ours / paper)",
                 "silent neurons % (ours / paper)", "strong-mode silent % (ours / paper)",
                 "weight sparsity % (ours / paper)"]


def paper_network(trace: Trace) -> str | None:
    """The LoAS paper network a trace's model is (``loas-vgg16`` -> ``vgg16``), or None."""
    from archsim.generators.stats.loas_paper import NETWORKS

    name = trace.header.model.lower()
    return next((n for n in NETWORKS if n in name), None)


def comparison_table(rows: list[tuple[str, Trace, LoasTable]]) -> dict:
    """Our network-level Table II figures beside the paper's (CIFAR-10 networks), with the test
    accuracy each trace's network was measured at; a report table (``{"tables": [...]}``)."""
    from archsim.generators.stats.loas_paper import network_stats

    out = []
    for name, trace, table in rows:
        net = paper_network(trace)
        paper = network_stats(net) if net else None
        n = table.network
        acc = trace.header.metrics.get("accuracy_top1")

        def pair(ours: float, key: str) -> str:
            return f"{100 * ours:.1f} / " + (f"{paper[key]:.1f}" if paper else "-")
        out.append([net or trace.header.model, Path(name).name, "-" if acc is None else round(100 * acc, 2),
                    pair(n.spike_sparsity, "spike_sparsity"), pair(n.silent_ratio, "silent"),
                    pair(n.silent_ratio_strong, "strong_silent"), pair(n.weight_sparsity, "weight_sparsity")])
    notes = ("Ours: the traces' profiled layers (every conv but the encoding layer, im2col'd), one real "
             "test image at T = 4, with the test accuracy recorded in each trace (measured on the stored "
             "checkpoint). Paper: LoAS Table II's networks (CIFAR-10), recomputed element-weighted from the "
             "per-layer statistics in archsim.generators.stats.loas_paper (../shared/research/loas.md 7.3).")
    return {"tables": [{"title": "LoAS Table II: our networks beside the paper's", "notes": notes,
                        "columns": TABLE_COLUMNS, "rows": out}]}
