"""Functional mode of the LoAS model: compute a layer's output through the FTP inner join and
compare it with the dense product of the same tensors (``archsim simulate --check-function``).

For every GEMM view of a spike-input op whose spikes and weights the trace stores, every output
neuron ``(m, n)`` is computed by :func:`archsim.kernels.innerjoin.ftp_accumulate` as the TPPE
does it: the fast prefix sum on the weight bitmask gives each matched weight at once, the weight
goes into the pseudo-accumulator (speculating the neuron fired at every timestep), and the
correction accumulators of the timesteps whose bit is 0 take it back once the laggy prefix sum
has delivered the spike word: ``O[t] = pseudo - correction[t]``. The spike words are the ones
the model compresses (in strong mode the words with one spike are dropped, a lossy choice the
paper fine-tunes for), and the reference is the dense product of those same spikes,
``O_dense[t] = spikes[t] @ W``, computed with numpy on the unpacked bit planes. The check is exact
(integer weights, integer sums).

It also reports the widest pseudo-accumulator value met, to compare with the TPPE's 12-bit
pseudo-accumulator (a value outside its range would wrap in the hardware).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from archsim.arch.base import OpContext
from archsim.arch.spmspm_common import gemm_views, is_gemm, timestep_planes
from archsim.errors import TraceError
from archsim.kernels.innerjoin import ftp_accumulate
from archsim.trace.schema import Role


@dataclass
class Mismatch:
    op: str
    view: int
    timestep: int
    m: int
    n: int
    ftp: int
    dense: int

    def __str__(self) -> str:
        return (f"op '{self.op}' (view {self.view}): output (m={self.m}, n={self.n}) at timestep {self.timestep}: "
                f"FTP join {self.ftp} != dense product {self.dense}")


@dataclass
class FunctionCheck:
    ops_checked: list[str] = field(default_factory=list)
    ops_skipped: dict[str, str] = field(default_factory=dict)   # op id -> why
    outputs: int = 0              # output neuron-timesteps compared
    matches: int = 0              # matched pairs the FTP join performed
    mispredictions: int = 0       # of which the spike word was not all ones (corrections)
    pseudo_max_abs: int = 0       # widest pseudo-accumulator value
    mismatch: Mismatch | None = None

    @property
    def passed(self) -> bool:
        return self.mismatch is None and bool(self.ops_checked)

    def summary(self) -> dict:
        """The figures a result keeps (``summary["function_check"]``; recipe checks read them, e.g.
        ``function_check.passed``, 1 or 0)."""
        return {"passed": 1.0 if self.passed else 0.0, "ops_checked": len(self.ops_checked),
                "ops_skipped": len(self.ops_skipped), "outputs": self.outputs, "matches": self.matches,
                "mispredictions": self.mispredictions, "pseudo_max_abs": self.pseudo_max_abs,
                "mismatch": None if self.mismatch is None else str(self.mismatch)}

    def line(self, pseudo_bits: int = 12) -> str:
        if self.mismatch is not None:
            return f"function check FAILED: {self.mismatch}"
        if not self.ops_checked:
            reasons = "; ".join(f"{k}: {v}" for k, v in list(self.ops_skipped.items())[:3])
            return f"function check: no op could be checked ({reasons})"
        fits = self.pseudo_max_abs < 2 ** (pseudo_bits - 1)
        return (f"function check passed: {len(self.ops_checked)} GEMM ops, {self.outputs} outputs of the FTP join "
                f"(pseudo-accumulator minus corrections) equal the dense product ({self.matches} matched pairs, "
                f"{self.mispredictions} corrected); widest pseudo-accumulator value {self.pseudo_max_abs} "
                f"({'fits' if fits else 'does NOT fit'} a {pseudo_bits}-bit accumulator)"
                + (f"; {len(self.ops_skipped)} ops skipped" if self.ops_skipped else ""))


def _skip_reason(op, ctx: OpContext) -> str | None:
    a_name, b_name = ("a", "b") if op.kind == "matmul" else ("input", "weight")
    if not (op.has_operand(a_name) and op.has_operand(b_name)):
        return "no input/weight operands"
    a, b = op.operand(a_name), op.operand(b_name)
    if a.role != Role.spike:
        return "multi-bit input (runs one timestep plane at a time, no FTP join)"
    if b.role == Role.spike:
        return "spike x spike product (AND + popcount, no FTP join)"
    if not (ctx.is_real(a) and ctx.is_real(b)):
        return "spikes or weights not stored in the trace (statistics only)"
    return None


def check_view(words: np.ndarray, weights: np.ndarray, T: int, backend: str = "numba"):
    """FTP join of every output of one view -> ``(O_ftp [T, M, N], matches, mispredictions,
    pseudo_max_abs)``. ``words [M, K]`` packed spikes, ``weights [K, N]`` integers."""
    M, _ = words.shape
    N = weights.shape[1]
    out = np.zeros((T, M, N), dtype=np.int64)
    matches = mispred = widest = 0
    w_cols = [np.ascontiguousarray(weights[:, n]) for n in range(N)]
    for m in range(M):
        row = words[m]
        if not row.any():
            continue
        for n in range(N):
            o, k, miss = ftp_accumulate(row, w_cols[n], T, backend=backend)
            out[:, m, n] = o
            matches += int(k)
            mispred += int(miss)
        # the pseudo-accumulator holds the sum of the matched weights (all timesteps assumed fired)
        nz = row != 0
        widest = max(widest, int(np.abs(weights[nz].astype(np.int64).sum(axis=0)).max(initial=0)))
    return out, matches, mispred, widest


def check_function(trace, hw, seed: int | None = None) -> FunctionCheck:
    """Run the functional check of every GEMM op of ``trace`` on the LoAS design ``hw``."""
    if hw.config.architecture != "loas":
        raise TraceError(f"--check-function: only the 'loas' model has a functional mode "
                         f"({hw.path or hw.name} is '{hw.config.architecture}')")
    p = hw.params
    ctx = OpContext(trace, trace.header.seed if seed is None else seed)
    res = FunctionCheck()
    silent_max = 1 if p.strong_silent else 0
    for op in trace.ops:
        if not is_gemm(op):
            continue
        why = _skip_reason(op, ctx)
        if why:
            res.ops_skipped[op.id] = why
            continue
        views = gemm_views(op, ctx, p.weight_bits, pack_spike_b=True)
        for i, view in enumerate(views):
            w = view.weights
            if not np.issubdtype(w.dtype, np.integer):
                if not np.array_equal(w, np.round(w)):
                    raise TraceError(f"--check-function: op '{op.id}' stores non-integer weights; the TPPE "
                                     "accumulates integer weights (export them quantised, e.g. weight_bits 8)")
                w = w.astype(np.int64)
            words = view.words.copy()
            if silent_max:       # strong mode: a word with one spike is dropped by the compression
                words[np.bitwise_count(words) <= silent_max] = 0
            T = view.timesteps
            ftp, k, miss, widest = check_view(words, w, T, backend=p.kernel_backend)
            dense = np.einsum("tmk,kn->tmn", timestep_planes(words, T).astype(np.int64), w.astype(np.int64))
            res.outputs += dense.size
            res.matches += k
            res.mispredictions += miss
            res.pseudo_max_abs = max(res.pseudo_max_abs, widest)
            bad = np.argwhere(ftp != dense)
            if len(bad):
                t, m, n = (int(v) for v in bad[0])
                res.mismatch = Mismatch(op.id, i, t, m, n, int(ftp[t, m, n]), int(dense[t, m, n]))
                return res
        res.ops_checked.append(op.id)
    return res
