"""Speed of the conductance-drift kernel (archsim/kernels/drift.py): Numba vs its numpy reference.

The static conductances of a DeiT-S encoder's FC1 as programmed on 2-bit cells with differential
pairs (384 x 1536 weights, 8 columns each: 4.7 M cells) drifted to one year on the PCM preset
(conductance-dependent nu, one counter-based normal draw per device). Both backends give the
same numbers (checked to 1e-13); the ratio is reference time / kernel time, on one thread and on
all threads.

    .venv/bin/python benchmarks/drift_kernel.py [--cells N] [--repeat 5] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", type=int, default=384 * 1536 * 8)
    p.add_argument("--repeat", type=int, default=5, help="rounds, each timing the three cases in turn (medians)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    import numba

    from archsim.kernels.drift import drift
    from archsim.noise.drift import PRESETS

    c = PRESETS["pcm"]
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, args.cells) * (25.0 - 0.25) / 3 + 0.25
    G = np.clip(target + rng.normal(0, 0.3, args.cells), 0, None)
    log_ratio = math.log1p(3.1536e7 / c.t0_s)
    call = lambda backend: drift(G, target, 25.0, c.mu_coef, c.sig_coef, log_ratio, 7, backend=backend)  # noqa: E731
    t0 = time.perf_counter()
    call("numba")
    first = time.perf_counter() - t0

    sys.path.insert(0, str(Path(__file__).resolve().parent))   # benchmarks/: scripts beside their helper
    from interleaved import interleaved

    threads = numba.config.NUMBA_NUM_THREADS
    t = interleaved({"k1": (lambda: call("numba"), 1), "kn": (lambda: call("numba"), threads),
                     "ref": (lambda: call("reference"), None)}, args.repeat, numba.set_num_threads)
    (k1, k1_wall, k1_cpu), (kn, kn_wall, _), (ref, ref_wall, ref_cpu) = t["k1"], t["kn"], t["ref"]
    same = bool(np.allclose(k1, ref, rtol=1e-13, atol=0) and np.allclose(kn, ref, rtol=1e-13, atol=0))
    figures = {"cells": args.cells, "cpus": os.cpu_count(), "threads_all": threads, "first_call_s": first,
               "kernel_1thread_wall_s": k1_wall, "kernel_1thread_cpu_s": k1_cpu, "kernel_all_threads_wall_s": kn_wall,
               "reference_wall_s": ref_wall, "reference_cpu_s": ref_cpu, "ratio_1thread_wall": ref_wall / k1_wall,
               "ratio_1thread_cpu": ref_cpu / k1_cpu, "ratio_all_threads_wall": ref_wall / kn_wall, "identical": same}
    print(f"drift kernel, {args.cells / 1e6:.2f} M cells to 1 year on the PCM preset (medians; first call {first:.2f} s)")
    print(f"  numba kernel, 1 thread     {k1_wall:8.4f} s wall {k1_cpu:8.4f} s cpu")
    print(f"  numba kernel, {threads:2d} threads   {kn_wall:8.4f} s wall")
    print(f"  numpy reference            {ref_wall:8.4f} s wall {ref_cpu:8.4f} s cpu")
    print(f"  ratio: {figures['ratio_1thread_wall']:.1f}x (1 thread, wall), {figures['ratio_1thread_cpu']:.1f}x "
          f"(1 thread, cpu), {figures['ratio_all_threads_wall']:.1f}x ({threads} threads, wall); same to 1e-13: {same}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
