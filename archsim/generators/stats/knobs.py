"""Workload knobs for statistics-only traces: the number of timesteps T and the weight sparsity
(``archsim simulate --timesteps / --weight-sparsity``, sweep axes ``workload.timesteps`` and
``workload.weight_sparsity``). See docs/sweeps.md ("Workload axes").

A trace that stores real tensors was recorded at one T and one sparsity: it cannot be changed
here (export the network again at that T or pruning level), and asking is an error naming the op
and operand. Statistics-only operands are rewritten:

**Timesteps (our model, not the paper's).** The LoAS authors publish spike statistics at T = 4
only. To move a spike operand from T0 to T we model its neurons as a mixture: a fraction ``z``
never fires (dead neurons), the rest fire independently at each timestep with probability ``q``.
Two statistics at T0 fix both: the firing rate ``d = (1 - z) q`` (the spike density per
timestep) and the silent ratio ``s0 = z + (1 - z)(1 - q)^T0``, i.e. ``q`` solves

    (1 - (1 - q)^T0) / q = (1 - s0) / d,     with  d <= q <= 1

(the left side falls from T0 to 1; ``q`` is clamped to ``[d, 1]``, ``q = d`` meaning no dead
neurons). At T the spike-count histogram is ``n (z delta_0 + (1 - z) Binomial(T, q))``, so the
silent ratio is ``p_silent(T) = z + (1 - z)(1 - q)^T`` and the density per timestep stays ``d``.
At T = T0 the recorded histogram is kept as it is. Operands with only a density keep it at every
timestep.

**Weight sparsity.** Every statistics-only static weight of a GEMM op gets density ``1 - S``;
per-output-row nonzero counts (``row_nnz``) are rescaled to the new total, keeping their spread
(capped at the row length).
"""
from __future__ import annotations

from math import comb

import numpy as np

from archsim.errors import TraceError
from archsim.trace.io import Trace
from archsim.trace.schema import GEMM_KINDS, Manifest, Role

KNOBS = ("timesteps", "weight_sparsity")


def mixture_fit(hist: list[int]) -> tuple[float, float]:
    """``(z, q)``: dead-neuron fraction and firing probability of the active neurons that
    reproduce the histogram's silent ratio and density (see the module docstring)."""
    h = np.asarray(hist, dtype=float)
    n, T0 = h.sum(), len(h) - 1
    if n <= 0 or T0 < 1:
        return 1.0, 0.0
    d = float((np.arange(T0 + 1) * h).sum() / (n * T0))
    s0 = float(h[0] / n)
    if d <= 0:
        return 1.0, 0.0
    target = (1 - s0) / d
    f = lambda q: (1 - (1 - q) ** T0) / q        # noqa: E731 - falls from T0 (q -> 0) to 1 (q = 1)
    lo, hi = d, 1.0
    if f(lo) <= target:
        q = lo
    elif f(hi) >= target:
        q = hi
    else:
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) > target else (lo, mid)
        q = (lo + hi) / 2
    return 1 - d / q, q


def retime_histogram(hist: list[int], T: int) -> list[int]:
    """The spike-count histogram of the same neurons at ``T`` timesteps (identity at T0)."""
    if len(hist) - 1 == T:
        return list(hist)
    return mixture_histogram(int(sum(hist)), *mixture_fit(hist), T)


def mixture_histogram(n: int, z: float, q: float, T: int) -> list[int]:
    """``n`` neurons' spike counts over ``T`` timesteps under the mixture ``(z, q)``, rounded to
    integers that sum to ``n`` (largest remainders)."""
    frac = np.array([(1 - z) * comb(T, c) * q ** c * (1 - q) ** (T - c) for c in range(T + 1)])
    frac[0] += z
    exact = frac / frac.sum() * n
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind="stable")[:n - counts.sum()]] += 1
    return [int(c) for c in counts]


def transfer_timesteps(trace: Trace, timesteps: int, reference: Trace, reference_t: Trace,
                       pairs: list[tuple[str, str]]) -> Trace:
    """``trace`` (statistics) moved to ``timesteps`` the way a real network moved: ``reference``
    and ``reference_t`` are one network's traces at the trace's T0 and at ``timesteps``; ``pairs``
    maps each of ``trace``'s ops to the reference op it stands for. Per pair, the mixture (z, q) of
    the trace's spike input and of the reference's at both T are fitted; the trace's dead fraction
    moves by the reference's change and its firing probability scales by the reference's ratio:
    ``z' = z + (z_T - z_T0)``, ``q' = q (q_T / q_T0)`` (clamped to [0, 1]), and the histogram at T
    is the mixture's. Ops not in ``pairs`` move by :func:`apply_workload`'s model."""
    T0 = trace.header.timesteps
    for ref, T in ((reference, T0), (reference_t, timesteps)):
        if ref.header.timesteps != T:
            raise TraceError(f"{ref.path or ref.name}: recorded at T = {ref.header.timesteps}, expected T = {T}")
    moved = apply_workload(trace, timesteps=timesteps)
    if timesteps == T0:
        return moved
    data = moved.manifest.model_dump(mode="python")
    ops = {op["id"]: op for op in data["ops"]}
    for ours, theirs in pairs:
        if ours not in ops:
            raise TraceError(f"{trace.name}: no op {ours!r} to move")
        hists = []
        for ref in (reference, reference_t):
            try:
                sp = ref.op(theirs).operands[0].sparsity
            except (KeyError, IndexError, TraceError):
                raise TraceError(f"{ref.path or ref.name}: no op {theirs!r} with an input operand") from None
            if sp is None or sp.spike_count_histogram is None:
                raise TraceError(f"{ref.path or ref.name}: op {theirs!r}: its input has no spike-count histogram")
            hists.append(sp.spike_count_histogram)
        hist = trace.op(ours).operands[0].sparsity.spike_count_histogram
        if hist is None or len(hist) != T0 + 1:
            raise TraceError(f"{trace.name}: op {ours!r}: its input has no spike-count histogram at T = {T0}")
        (z0, q0), (zt, qt) = (mixture_fit(h) for h in hists)
        z, q = mixture_fit(hist)
        z = min(max(z + zt - z0, 0.0), 1.0)
        q = min(max(q * (qt / q0 if q0 > 0 else 1.0), 0.0), 1.0)
        new = mixture_histogram(int(sum(hist)), z, q, timesteps)
        sp = ops[ours]["operands"][0]["sparsity"]
        n = sum(new)
        sp["spike_count_histogram"] = new
        sp["density"] = sum(c * k for c, k in enumerate(new)) / (timesteps * n) if n else 0.0
        if sp.get("density_per_timestep") is not None:
            sp["density_per_timestep"] = [sp["density"]] * timesteps
    header = data["header"]
    header["provenance"]["notes"] = (header["provenance"].get("notes") or "") + (
        f"; then the spike statistics of {len(pairs)} of its ops re-derived at T = {timesteps} as the same layers "
        f"of the real network {reference.name} moved from T = {T0} to T = {timesteps}, instead of by the mixture "
        "alone (archsim.generators.stats.knobs.transfer_timesteps; our derivation, not published statistics)")
    return Trace(Manifest.model_validate(data), arrays=moved._arrays, path=moved.path)


def _refuse(trace: Trace, op, operand, knob: str, why: str) -> TraceError:
    where = trace.path or f"trace '{trace.name}'"
    return TraceError(f"{where}: op '{op['id']}' operand '{operand['name']}': {knob}: {why}")


def apply_workload(trace: Trace, timesteps: int | None = None, weight_sparsity: float | None = None) -> Trace:
    """A copy of ``trace`` at ``timesteps`` and/or ``weight_sparsity`` (None: unchanged)."""
    if timesteps is None and weight_sparsity is None:
        return trace
    if timesteps is not None and (not isinstance(timesteps, int) or isinstance(timesteps, bool) or timesteps < 1):
        raise TraceError(f"timesteps: expected an integer >= 1, got {timesteps!r}")
    if weight_sparsity is not None and not 0 <= weight_sparsity < 1:
        raise TraceError(f"weight_sparsity: expected a fraction in [0, 1), got {weight_sparsity!r}")
    data = trace.manifest.model_dump(mode="python")
    header = data["header"]
    T0 = header["timesteps"]
    notes = []
    if timesteps is not None and timesteps != T0:
        for op in data["ops"]:
            if op["timesteps"] != T0:      # e.g. an ANN branch running one timestep: left alone
                continue
            op["timesteps"] = timesteps
            for operand in op.get("operands", []) + ([op["output"]] if op.get("output") else []):
                if operand["role"] in (Role.static_weight, Role.static_weight.value):
                    continue
                if operand.get("tensor") is not None:
                    raise _refuse(trace, op, operand, "--timesteps", f"the trace stores this tensor, recorded at "
                                  f"T = {T0}; export the network at T = {timesteps} instead")
                sp = operand.get("sparsity")
                if not sp:
                    continue
                hist = sp.get("spike_count_histogram")
                if hist is not None and len(hist) == T0 + 1:
                    new = retime_histogram(hist, timesteps)
                    n = sum(new)
                    sp["spike_count_histogram"] = new
                    sp["density"] = sum(c * k for c, k in enumerate(new)) / (timesteps * n) if n else 0.0
                if sp.get("density_per_timestep") is not None:
                    sp["density_per_timestep"] = [sp["density"]] * timesteps
        header["timesteps"] = timesteps
        notes.append(f"timesteps moved from {T0} to {timesteps} by archsim's dead-neuron + Bernoulli mixture "
                     "(archsim.generators.stats.knobs; our model, not published statistics)")
    if weight_sparsity is not None:
        density = 1.0 - weight_sparsity
        touched = 0
        for op in data["ops"]:
            if op["kind"] not in GEMM_KINDS:
                continue
            for operand in op.get("operands", []):
                if operand["role"] not in (Role.static_weight, Role.static_weight.value):
                    continue
                if operand.get("tensor") is not None:
                    raise _refuse(trace, op, operand, "--weight-sparsity", "the trace stores the real (pruned) "
                                  "weights; prune and export the network at that sparsity instead")
                sp = operand.get("sparsity") or {}
                rows = sp.get("row_nnz")
                if rows:
                    numel = int(np.prod(operand["shape"]))
                    rows = _rescale_rows(rows, numel // len(rows), round(numel * density))
                sp.update(density=density if not rows else sum(rows) / int(np.prod(operand["shape"])),
                          row_nnz=rows or None, col_nnz=None)
                operand["sparsity"] = sp
                touched += 1
        if not touched:
            raise TraceError(f"{trace.path or trace.name}: --weight-sparsity: the trace has no static weight "
                             "of a GEMM op to change")
        notes.append(f"weight sparsity set to {weight_sparsity} by archsim (uniform placement)")
    prov = header["provenance"]
    prov["notes"] = "; ".join([prov.get("notes") or "", *notes]).strip("; ")
    return Trace(Manifest.model_validate(data), arrays=trace._arrays, path=trace.path)


def _rescale_rows(rows: list[int], cols: int, total: int) -> list[int]:
    """Nonzeros per row scaled to ``total``, largest remainders first, none above ``cols``."""
    r = np.asarray(rows, dtype=float)
    share = r / r.sum() if r.sum() > 0 else np.full(len(r), 1 / len(r))
    want = share * total
    nnz = np.minimum(np.floor(want).astype(np.int64), cols)
    order = np.argsort(-(want - np.floor(want)), kind="stable")
    i = 0
    while nnz.sum() < min(total, cols * len(r)):
        j = order[i % len(r)]
        if nnz[j] < cols:
            nnz[j] += 1
        i += 1
    return [int(v) for v in nnz]


def recorded_weight_sparsity(trace: Trace) -> float | None:
    """The weight sparsity a trace was recorded at: the trainer's figure over the pruned layers
    (header metric ``weight_sparsity_pruned_layers``; the first and last layers stay dense) when
    it is there, else the zeros of every GEMM's stored static weights, else their statistics'
    density; None when the trace has no static weights."""
    recorded = trace.header.metrics.get("weight_sparsity_pruned_layers")
    if recorded is not None:
        return float(recorded)
    zeros = total = 0
    for op in trace.ops:
        if op.kind not in GEMM_KINDS:
            continue
        for operand in op.operands:
            if operand.role != Role.static_weight:
                continue
            if operand.tensor is not None:
                zeros += operand.numel - int(np.count_nonzero(trace.tensor(operand.tensor)))
            elif operand.sparsity is not None and operand.sparsity.density is not None:
                zeros += operand.numel * (1.0 - operand.sparsity.density)
            else:
                continue
            total += operand.numel
    return zeros / total if total else None
