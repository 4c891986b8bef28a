"""Side-by-side timing for the kernel-vs-reference benchmarks: every case runs once per round, the
cases in turn, so that a change in the machine's load or clock during the run hits all of them
alike (timing the kernel's repeats first and the reference afterwards let a shared VM's drift
move the ratio by 2-3x between runs)."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable


def interleaved(cases: dict[str, tuple[Callable[[], Any], int | None]], rounds: int,
                set_threads: Callable[[int], None]) -> dict[str, tuple[Any, float, float]]:
    """``cases``: name -> (function, Numba threads or None to leave them). Returns name -> (the
    last output, median wall seconds, median CPU seconds) over ``rounds`` rounds."""
    wall: dict[str, list[float]] = {k: [] for k in cases}
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    out: dict[str, Any] = {}
    for _ in range(rounds):
        for name, (fn, threads) in cases.items():
            if threads:
                set_threads(threads)
            w0, c0 = time.perf_counter(), time.process_time()
            out[name] = fn()
            wall[name].append(time.perf_counter() - w0)
            cpu[name].append(time.process_time() - c0)
    return {k: (out[k], statistics.median(wall[k]), statistics.median(cpu[k])) for k in cases}
