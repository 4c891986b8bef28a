"""Human-readable description of a trace (``archsim trace info``)."""
from __future__ import annotations

from archsim.trace.io import Trace


def _shape(operand) -> str:
    return "x".join(str(s) for s in operand.shape)


def describe(trace: Trace) -> str:
    h = trace.header
    lines = [
        f"model:       {h.model}",
        f"source:      {h.source or '-'}",
        f"dataset:     {h.dataset or '-'}",
        f"input:       {h.input_description or '-'}",
        f"batch {h.batch}, timesteps {h.timesteps}, seed {h.seed}",
        f"provenance:  weights {h.provenance.weights}, inputs {h.provenance.inputs}"
        + (f" ({h.provenance.notes})" if h.provenance.notes else ""),
    ]
    if h.metrics:
        lines.append("metrics:     " + ", ".join(f"{k}={v:g}" for k, v in h.metrics.items()))
    lines.append("")
    header = f"{'op':<22} {'kind':<11} {'T':>2} {'GEMM M x K x N (groups)':<26} {'MMAC':>9}  operands (role shape bits density)"
    lines += [header, "-" * len(header)]
    total_macs = 0
    for op in trace.ops:
        gemm = getattr(op, "gemm", None)
        g = f"{gemm.M} x {gemm.K} x {gemm.N} ({gemm.groups})" if gemm else f"{op.elements} elements"
        macs = op.macs * op.timesteps
        total_macs += macs
        ops = "; ".join(f"{o.name}: {o.role.value} {_shape(o)} {o.bits}b d={o.density:.3f}"
                        + (" [tensor]" if o.tensor else "") for o in op.operands)
        lines.append(f"{op.id[:22]:<22} {op.kind:<11} {op.timesteps:>2} {g:<26} {macs / 1e6:9.3f}  {ops}")
    lines.append("")
    lines.append(f"{len(trace.ops)} ops, {total_macs / 1e6:.3f} M dense MACs (all timesteps), "
                 f"{len(trace.manifest.tensors)} stored tensors")
    lines.append(unmodelled_line(trace))
    return "\n".join(lines)


def unmodelled_line(trace: Trace) -> str:
    """The share of the trace's MACs held by ``unmodelled`` ops (work no hardware model runs)."""
    from archsim.trace.schema import UNMODELLED_KIND

    total = sum(op.macs * op.timesteps for op in trace.ops)
    ops = [op for op in trace.ops if op.kind == UNMODELLED_KIND]
    macs = sum(op.macs * op.timesteps for op in ops)
    if not ops:
        return "unmodelled: none (0.00 % of MACs)"
    names = sorted({op.function for op in ops})
    share = 100.0 * macs / total if total else 0.0
    return (f"unmodelled: {len(ops)} ops ({', '.join(names)}), {macs / 1e6:.3f} M MACs = {share:.2f} % of MACs; "
            "no hardware model runs them")


def header_lines(trace: Trace) -> list[str]:
    h = trace.header
    lines = [f"model {h.model}, dataset {h.dataset or '-'}, batch {h.batch}, T {h.timesteps}; "
             f"weights {h.provenance.weights}, inputs {h.provenance.inputs}"]
    if h.metrics:
        lines.append("metrics: " + ", ".join(f"{k}={v:g}" for k, v in h.metrics.items()))
    return lines


def sparsity_table(trace: Trace) -> str:
    """Per operand: density, density per timestep, and for spikes the silent fraction (neurons
    that never fire in T, from the spike-count histogram)."""
    head = f"{'op':<24} {'operand':<8} {'role':<13} {'density':>8}  {'per timestep':<30} {'silent':>7}"
    lines = header_lines(trace) + ["", head, "-" * len(head)]
    for op in trace.ops:
        for o in (*op.operands, *([op.output] if op.output else [])):
            s = o.sparsity
            if s is None:
                continue
            per_t = " ".join(f"{d:.3f}" for d in s.density_per_timestep or [])
            hist = s.spike_count_histogram
            silent = f"{hist[0] / sum(hist):7.3f}" if hist and sum(hist) else ""
            lines.append(f"{op.id[:24]:<24} {o.name[:8]:<8} {o.role.value:<13} {s.density:8.4f}  "
                         f"{per_t[:30]:<30} {silent:>7}")
    return "\n".join(lines)
