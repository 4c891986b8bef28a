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
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hw", default=str(ROOT / "hw_configs/trex_fefet_32nm.yaml"))
    p.add_argument("--tokens", type=int, default=197)
    p.add_argument("--k", type=int, default=384)
    p.add_argument("--n", type=int, default=1536)
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument("--repeat", type=int, default=3, help="kernel timings (the median is used)")
    p.add_argument("--reference-repeat", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)

    import numba

    from archsim.noise import CrossbarSpec, matmul, program

    if args.threads:
        numba.set_num_threads(args.threads)
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
    kernel_s = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        y = matmul(x, arr, seed=2)
        kernel_s.append(time.perf_counter() - t0)
    ref_s = []
    for _ in range(args.reference_repeat):
        t0 = time.perf_counter()
        y_ref = matmul(x, arr, seed=2, backend="reference")
        ref_s.append(time.perf_counter() - t0)
    same = bool(np.array_equal(y, y_ref))
    exact = x @ W
    figures = {
        "shape": [args.tokens, args.k, args.n], "hardware": spec.__class__.__name__ + ":" + Path(args.hw).name,
        "crossbar": [spec.rows, spec.cols], "weight_slices": arr.c, "input_planes": spec.input_bits,
        "row_groups": arr.groups, "noisy_reads": int(arr.groups * spec.input_bits * args.tokens * arr.n * arr.c),
        "threads": numba.get_num_threads(), "cpus": os.cpu_count(),
        "program_s": program_s, "first_call_s": first_s,
        "kernel_s_median": float(np.median(kernel_s)), "reference_s_median": float(np.median(ref_s)),
        "ratio": float(np.median(ref_s) / np.median(kernel_s)), "identical": same,
        "relative_error_vs_float": float(np.linalg.norm(y - exact) / np.linalg.norm(exact)),
    }
    print(f"noise engine, {args.tokens}x{args.k}x{args.n} on {Path(args.hw).name}: "
          f"{figures['noisy_reads'] / 1e6:.1f} M noisy column reads, {figures['threads']} Numba thread(s)")
    print(f"  numba kernel  {figures['kernel_s_median']:8.3f} s (median of {args.repeat}; first call "
          f"{first_s:.2f} s)")
    print(f"  numpy ref     {figures['reference_s_median']:8.3f} s")
    print(f"  ratio         {figures['ratio']:8.1f} x   identical outputs: {same}")
    print(f"  error vs float product: {figures['relative_error_vs_float']:.3f} (relative, noise + quantisation)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
