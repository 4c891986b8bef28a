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
    return "\n".join(lines)
