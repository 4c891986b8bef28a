"""Speed of the LoAS model (not a test: prints figures; run by hand).

    .venv/bin/python benchmarks/loas_speed.py            # all three parts
    .venv/bin/python benchmarks/loas_speed.py --quick    # fewer repeats, smaller scaling grid

1. **Whole VGG16** (the paper's 12 profiled layers at their published sparsities, real-size
   tensors drawn from the statistics-only trace) on the cycle-level LoAS model
   (hw_configs/loas.yaml): wall time of the model with the Numba kernels and with their numpy
   references on the same layers (same GEMM views), and the end-to-end ``simulate`` time
   including the synthetic tensor generation.
2. **Scaling with density** at a fixed layer size: model time against the matched pairs.
3. **Scaling with size** at fixed densities: model time against M*N*K and the matched pairs;
   the dense bitmask AND + popcount join (``join_counts``) for contrast, whose cost follows the
   dense size.

Times are medians of repeated runs after a warm-up (JIT compilation excluded).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archsim.arch.base import OpContext  # noqa: E402
from archsim.arch.spmspm.gemm import GemmView, gemm_views
from archsim.config.hardware import load_hardware  # noqa: E402
from archsim.engine import simulate  # noqa: E402
from archsim.kernels.innerjoin import join_counts  # noqa: E402
from archsim.trace.io import load_trace  # noqa: E402


def median_time(fn, repeats: int, clock=time.perf_counter) -> float:
    fn()                                   # warm-up (JIT, caches)
    times = []
    for _ in range(repeats):
        t = clock()
        fn()
        times.append(clock() - t)
    return statistics.median(times)


def model(backend: str = "numba"):
    hw = load_hardware(ROOT / "hw_configs/loas.yaml", overrides={"params.kernel_backend": backend})
    return hw.create_model()


def whole_vgg16(repeats: int) -> None:
    trace = load_trace(ROOT / "examples/loas_paper/vgg16.trace")
    ctx = OpContext(trace, trace.header.seed)
    views = [(op, gemm_views(op, ctx, 8)) for op in trace.ops]
    pairs = 0

    def run(m):
        nonlocal pairs
        pairs = sum(m.view_cost(v, op).macs_effectual for op, vs in views for v in vs)

    fast = median_time(lambda: run(model("numba")), repeats)
    ref = median_time(lambda: run(model("reference")), max(1, repeats // 3))
    fast_cpu = median_time(lambda: run(model("numba")), repeats, time.process_time)
    ref_cpu = median_time(lambda: run(model("reference")), max(1, repeats // 3), time.process_time)
    hw = load_hardware(ROOT / "hw_configs/loas.yaml")
    end_to_end = median_time(lambda: simulate(trace, hw), max(1, repeats // 3))
    print("1. VGG16 (12 layers, T = 4, paper sparsities, statistics-only trace) on hw_configs/loas.yaml")
    print(f"   matched pairs (effectual ops): {pairs:,.0f}")
    print(f"   {'':28} {'wall ms':>9} {'CPU ms':>9}")
    print(f"   {'model, Numba kernels':28} {fast * 1e3:9.1f} {fast_cpu * 1e3:9.1f}   "
          f"({fast_cpu / pairs * 1e9:.2f} CPU ns per matched pair)")
    print(f"   {'model, numpy references':28} {ref * 1e3:9.1f} {ref_cpu * 1e3:9.1f}")
    print(f"   {'speed-up of the kernels':28} {ref / fast:8.1f}x {ref_cpu / fast_cpu:8.1f}x")
    print(f"   simulate() end to end: {end_to_end * 1e3:.0f} ms wall (incl. drawing the synthetic tensors)")


def synthetic_view(M: int, N: int, K: int, spike_density: float, weight_density: float, T: int = 4,
                   seed: int = 0) -> GemmView:
    rng = np.random.default_rng(seed)
    spikes = rng.random((T, M, K)) < spike_density
    words = np.zeros((M, K), dtype=np.uint8)
    for t in range(T):
        words |= (spikes[t].astype(np.uint8) << t)
    weights = (rng.integers(1, 127, (K, N)) * (rng.random((K, N)) < weight_density)).astype(np.int8)
    return GemmView(words, weights, T, True, 8, 1)


def scaling(repeats: int, quick: bool) -> None:
    m = model()
    print("\n2. Density sweep, M x N x K = 1024 x 256 x 1152 (model time vs matched pairs)")
    print(f"   {'spike d.':>8} {'weight d.':>9} {'pairs':>12} {'time ms':>9} {'ns/pair':>8}")
    densities = [(0.05, 0.01), (0.1, 0.02), (0.2, 0.05), (0.3, 0.1)] + ([] if quick else [(0.4, 0.2), (0.5, 0.4)])
    for sd, wd in densities:
        v = synthetic_view(1024, 256, 1152, sd, wd)
        pairs = m.view_cost(v, None).macs_effectual
        t = median_time(lambda: m.view_cost(v, None), repeats)
        print(f"   {sd:8.2f} {wd:9.2f} {pairs:12,.0f} {t * 1e3:9.2f} {t / pairs * 1e9:8.2f}")
    print("\n3. Size sweep at spike density 0.2, weight density 0.02 (model vs dense AND + popcount join)")
    print(f"   {'M':>5} {'N':>5} {'K':>5} {'M*N*K':>14} {'pairs':>11} {'model ms':>9} {'ns/pair':>8} {'dense join ms':>13}")
    sizes = [(64, 64, 576), (256, 128, 1152), (1024, 256, 1152), (1024, 512, 2304)]
    if not quick:
        sizes.append((2048, 512, 4608))
    for M, N, K in sizes:
        v = synthetic_view(M, N, K, 0.2, 0.02)
        pairs = m.view_cost(v, None).macs_effectual
        t = median_time(lambda: m.view_cost(v, None), repeats)
        a_mask, b_mask = v.words != 0, (v.weights != 0).T
        tj = median_time(lambda: join_counts(a_mask, b_mask), max(1, repeats // 3))
        print(f"   {M:5d} {N:5d} {K:5d} {M * N * K:14,d} {pairs:11,.0f} {t * 1e3:9.2f} {t / pairs * 1e9:8.2f} {tj * 1e3:13.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    whole_vgg16(repeats)
    scaling(repeats, args.quick)


if __name__ == "__main__":
    main()
