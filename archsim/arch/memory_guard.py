"""Memory guard for the cycle-level models: estimate an op's working set before it runs and
fail with a clear error, instead of a MemoryError (or the kernel's OOM killer) halfway through.

The cycle-level dual-sparse models (``loas``, ``sparten``, ``gospa``, ``gamma`` and anything built
on :class:`archsim.arch.spmspm_common.SpmspmModel`) hold an op's tensors, its im2col'd spike
words, its timestep planes and the per-tile arrays of the tile walk in memory at once. The
estimate below is an upper bound of those arrays (our derivation from the shapes they take in
``spmspm_common``: every term is one array's size) times :data:`SLACK` for the temporaries numpy
makes beside them, calibrated against tracemalloc's peak on conv layers of the four models
(``tests/test_memory_guard.py`` checks the bound holds on cases it was not fitted on); analytical models (systolic, imc, the MAC
array) hold nothing that grows with the op and are not checked.

The budget is the smaller of ``ARCHSIM_MAX_OP_BYTES`` (when set), the memory the kernel says is
available, and the address-space / data limit of this process minus what it already uses.
"""
from __future__ import annotations

import math
import os
import resource

from archsim.errors import ArchsimError

MAX_OP_BYTES_ENV = "ARCHSIM_MAX_OP_BYTES"
HEADROOM = 0.8          # fraction of the free memory an op may plan to use
SLACK = 1.5             # temporaries beside the named arrays (padding, copies): calibrated, see below
SMALL_OP_BYTES = 32 << 20   # ops estimated under this are not checked (reading the budget costs more)


class OpMemoryError(ArchsimError):
    """An op's estimated working set does not fit in the memory available."""


def op_working_set_bytes(model, op) -> int | None:
    """Upper estimate of the bytes a cycle-level model holds while running ``op`` (None: not a
    cycle-level model, or not an op whose size depends on its tensors)."""
    gemm = getattr(op, "gemm", None)
    # by name, so that an analytical model does not import the Numba kernels
    if gemm is None or not any(c.__name__ == "SpmspmModel" for c in type(model).__mro__):
        return None
    p = model.params
    T = max(1, int(op.timesteps))
    G, M, K, N = int(gemm.groups), int(gemm.M), int(gemm.K), int(gemm.N)
    tm, tn, tk, P = (int(getattr(p, name, 1) or 1) for name in ("tile_m", "tile_n", "tile_k", "n_pe"))
    Mt, Nt, C = -(-M // tm), -(-N // tn), -(-K // tk)
    a_numel = max((o.numel for o in op.operands[:1]), default=G * M * K)
    b_numel = max((o.numel for o in op.operands[1:2]), default=G * K * N)
    word = 1 << max(0, math.ceil(math.log2(max(1, math.ceil(T / 8)))))      # bytes of a packed spike word
    total = (
        9 * T * a_numel                 # the input tensor (synthetic draws are float64, then uint8)
        + 8 * b_numel                   # the weights (int32/float64 at most)
        + G * M * K * (word + T)        # im2col'd words and their timestep planes
        + 2 * 4 * T * Mt * Nt * C * P   # per-PE loads and flags of the tile walk (int32)
        + 8 * T * Mt * C                # nonzeros per input tile (int64)
    )
    if getattr(p, "pe_scheduling", "static") == "dynamic":
        total += 4 * T * Mt * Nt * C * tm * tn + 4 * M * N * C + M * K   # jobs, pair counts, mask
    return int(SLACK * total)


def memory_budget_bytes() -> int | None:
    """What one op may use now (None: nothing known)."""
    budgets = []
    env = os.environ.get(MAX_OP_BYTES_ENV, "")
    if env:
        try:
            budgets.append(int(float(env)))
        except ValueError:
            raise ArchsimError(f"{MAX_OP_BYTES_ENV}={env!r}: expected a number of bytes") from None
    try:
        budgets.append(int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") * HEADROOM))
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    budgets.append(int(int(line.split()[1]) * 1024 * HEADROOM))
                    break
    except (ValueError, OSError, AttributeError):
        pass
    for limit, used in ((resource.RLIMIT_AS, _vm_bytes("VmSize")), (resource.RLIMIT_DATA, _vm_bytes("VmData"))):
        soft = resource.getrlimit(limit)[0]
        if soft != resource.RLIM_INFINITY and used is not None:
            budgets.append(int((soft - used) * HEADROOM))
    return min(budgets) if budgets else None


def _vm_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def check_op_memory(model, op, where: str) -> None:
    """Raise :class:`OpMemoryError` if ``op`` would not fit; ``where`` names the trace/hardware."""
    need = op_working_set_bytes(model, op)
    if need is None or need < SMALL_OP_BYTES:
        return
    budget = memory_budget_bytes()
    if budget is not None and need > budget:
        raise OpMemoryError(
            f"{where}: op '{op.id}': the cycle-level model '{model.name}' would need about "
            f"{need / 2**30:.3g} GiB for this op, more than the {max(budget, 0) / 2**30:.3g} GiB available; "
            f"use an analytical model, a smaller layer, or more memory ({MAX_OP_BYTES_ENV} sets the budget)")
