"""Speed of the crossbar non-ideality engine: Numba kernel vs its numpy reference.

A DeiT-S-sized linear layer (197 tokens x 384 inputs x 1536 outputs, FC1 of an encoder) on the
TReX-like preset: 64x64 crossbars, 8-bit weights in four 2-bit slices (6144 columns, 6 row
blocks), 8-bit inputs streamed bit-serially (8 planes), proportional read noise on every cell
for every read (58 M noisy column reads), 6-bit ADCs with per-tensor range, shift-and-add.
Both backends compute the same numbers (checked); the ratio is reference time / kernel time.

    .venv/bin/python benchmarks/noise_engine.py [--threads N] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# like-for-like single-thread comparison: numpy's BLAS (used by the reference's sums) on one thread
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hw", default=str(ROOT / "hw_configs/trex_fefet_32nm.yaml"))
    p.add_argument("--tokens", type=int, default=197)
    p.add_argument("--k", type=int, default=384)
    p.add_argument("--n", type=int, default=1536)
    p.add_argument("--threads", type=int, default=None, help="Numba threads of the all-threads run (default: all)")
    p.add_argument("--repeat", type=int, default=3, help="rounds, each timing the three cases in turn (medians)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)

    import numba

    from archsim.noise import CrossbarSpec, matmul, program

    spec = CrossbarSpec.from_hardware(args.hw)
    rng = np.random.default_rng(0)
    W = rng.normal(0.0, 0.05, (args.k, args.n))
    x = rng.normal(0.0, 1.0, (args.tokens, args.k))
    t0 = time.perf_counter()
    arr = program(W, spec, seed=1)
    program_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    y = matmul(x, arr, seed=2)                       # first call: compiles or loads the Numba cache
    first_s = time.perf_counter() - t0

    sys.path.insert(0, str(Path(__file__).resolve().parent))   # benchmarks/: scripts beside their helper
    from interleaved import interleaved

    all_threads = args.threads or numba.config.NUMBA_NUM_THREADS
    run = lambda backend: matmul(x, arr, seed=2, backend=backend)  # noqa: E731
    t = interleaved({"k1": (lambda: run("numba"), 1), "kn": (lambda: run("numba"), all_threads),
                     "ref": (lambda: run("reference"), None)}, args.repeat, numba.set_num_threads)
    (y, k1_wall, k1_cpu), (yn, kn_wall, _), (y_ref, ref_wall, ref_cpu) = t["k1"], t["kn"], t["ref"]
    same = bool(np.array_equal(y, y_ref) and np.array_equal(yn, y_ref))
    exact = x @ W
    figures = {
        "shape": [args.tokens, args.k, args.n], "hardware": Path(args.hw).name,
        "crossbar": [spec.rows, spec.cols], "columns_per_weight": arr.c, "input_bits": spec.input_bits,
        "row_groups": arr.groups, "noisy_reads": int(arr.groups * spec.input_bits * args.tokens * arr.n * arr.c),
        "cpus": os.cpu_count(), "threads_all": all_threads, "program_s": program_s, "first_call_s": first_s,
        "kernel_1thread_wall_s": k1_wall, "kernel_1thread_cpu_s": k1_cpu, "kernel_all_threads_wall_s": kn_wall,
        "reference_wall_s": ref_wall, "reference_cpu_s": ref_cpu,
        "ratio_1thread_wall": ref_wall / k1_wall, "ratio_1thread_cpu": ref_cpu / k1_cpu,
        "ratio_all_threads_wall": ref_wall / kn_wall, "identical": same,
        "relative_error_vs_float": float(np.linalg.norm(y - exact) / np.linalg.norm(exact)),
    }
    print(f"noise engine, {args.tokens}x{args.k}x{args.n} on {Path(args.hw).name}: "
          f"{figures['noisy_reads'] / 1e6:.1f} M noisy column reads (medians; first call {first_s:.2f} s)")
    print(f"  numba kernel, 1 thread     {k1_wall:8.3f} s wall {k1_cpu:8.3f} s cpu")
    print(f"  numba kernel, {all_threads:2d} threads   {kn_wall:8.3f} s wall")
    print(f"  numpy reference            {ref_wall:8.3f} s wall {ref_cpu:8.3f} s cpu (BLAS on 1 thread)")
    print(f"  ratio: {figures['ratio_1thread_wall']:.1f}x (1 thread, wall), {figures['ratio_1thread_cpu']:.1f}x "
          f"(1 thread, cpu), {figures['ratio_all_threads_wall']:.1f}x ({all_threads} threads, wall); "
          f"identical outputs: {same}")
    print(f"  error vs the float product: {figures['relative_error_vs_float']:.3f} (relative; the preset's "
          "noise and quantisation)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
