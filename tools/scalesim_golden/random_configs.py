#!/usr/bin/env python3
"""Seeded generator of random, valid SCALE-Sim 3.0.0 configurations for the differential harness.

Each configuration is a ``.cfg`` (array, three SRAMs, dataflow, CALC or USER bandwidth with
per-operand bandwidths) and a small topology CSV (conv or GEMM form). The space covered:

* array rows and columns 1-256, drawn independently (log-uniform), so most arrays are non-square;
* each SRAM 1 KB - 4 MB independently (log-uniform, whole kB as SCALE-Sim reads them);
* dataflow IS / WS / OS;
* ``InterfaceBandwidth`` CALC or USER; in USER mode SCALE-Sim takes the ifmap and filter DRAM
  bandwidths from ``[layout] IfmapSRAMBankBandwidth`` / ``FilterSRAMBankBandwidth`` and the ofmap
  one from ``Bandwidth[0]``: all three are drawn independently (1-64 words per cycle), and the
  bank counts from the divisors of the bank bandwidth (SCALE-Sim asserts divisibility);
* conv layers with odd channel counts, non-square inputs and kernels, strides 1-3, 1x1 (also
  strided), depthwise rows (``DP`` in the name, split by SCALE-Sim into one layer per channel),
  and windows that run past the input edge (no padding; stride not dividing ``H - R``);
* GEMM layers ``M, N, K`` 1-300.

The work of one configuration is kept small (SCALE-Sim builds per-cycle request matrices in
Python): a layer is redrawn while its folds, cycles or request-matrix entries exceed a budget
(smaller in USER mode, whose buffer model loops over every request in Python).

Used by ``run_random.py``; ``python random_configs.py --seed 1 -n 3`` prints three draws.
No SCALE-Sim code here: only its input formats.
"""
from __future__ import annotations

import argparse
import json
import math
import random

import scalesim_cfg   # a sibling script module (the folder is on sys.path when these run)

WORK_BUDGET = {"CALC": 1_500_000, "USER": 300_000}
CYCLE_BUDGET = {"CALC": 30_000, "USER": 8_000}     # SCALE-Sim loops over cycles in Python
MAX_FOLDS = 100                                      # and concatenates its matrices fold by fold


def _log_int(rng: random.Random, lo: int, hi: int) -> int:
    return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def layer_cost(df: str, rows: int, cols: int, P: int, K: int, N: int) -> tuple[int, int, int]:
    """(folds, cycles, request-matrix entries) SCALE-Sim handles for one layer."""
    Sr, Sc, T = {"os": (P, N, K), "ws": (K, N, P), "is": (K, P, N)}[df]
    F = _ceil(Sr, rows) * _ceil(Sc, cols)
    fold = rows + cols + T if df == "os" else 2 * rows + cols + T
    return F, F * fold, F * fold * (rows + cols)


def _conv_layer(rng: random.Random, name: str):
    kind = rng.choice(["plain", "plain", "pointwise", "pointwise_strided", "depthwise", "edge"])
    if kind in ("pointwise", "pointwise_strided"):
        fh = fw = 1
    else:
        fh = rng.choice([1, 2, 3, 3, 5, 7])
        fw = fh if rng.random() < 0.8 else rng.choice([1, 2, 3, 5])
    stride = 2 if kind == "pointwise_strided" else rng.choice([1, 1, 2, 3])
    H = rng.randint(fh, fh + 22)
    W = rng.randint(fw, fw + 22)
    if kind == "edge":                      # make sure the last window runs past the edge
        stride = rng.choice([2, 3])
        while (H - fh) % stride == 0:
            H += 1
    if kind == "depthwise":
        C = rng.choice([1, 2, 3, 5])
        nf = 1
        name = f"{name}_DP"
    else:
        C = rng.choice([1, 3, 5, 7, 9, 13, 17, 2, 4, 16, 32])
        nf = rng.randint(1, 48)
    return {"name": name, "H": H, "W": W, "Fh": fh, "Fw": fw, "C": C, "N": nf, "stride": stride}


def conv_dims(L) -> tuple[int, int, int, int]:
    """(P, K, N, SCALE-Sim layers): output pixels (ceil rule), window, filters, layers it becomes."""
    eh = _ceil(L["H"] - L["Fh"] + L["stride"], L["stride"])
    ew = _ceil(L["W"] - L["Fw"] + L["stride"], L["stride"])
    dp = "DP" in L["name"]
    return eh * ew, L["Fh"] * L["Fw"] * (1 if dp else L["C"]), L["N"], (L["C"] if dp else 1)


def draw(seed: int) -> dict:
    """One configuration (a plain dict; ``cfg_text`` / ``topology_text`` render it)."""
    rng = random.Random(seed)
    rows, cols = _log_int(rng, 1, 256), _log_int(rng, 1, 256)
    if rng.random() < 0.15:
        cols = rows                         # some square arrays too
    df = rng.choice(["ws", "os", "is"])
    mode = rng.choice(["CALC", "USER"])
    cfg = {
        "run_name": f"rand{seed}",
        "rows": rows, "cols": cols, "dataflow": df, "mode": mode,
        "ifmap_kb": _log_int(rng, 1, 4096), "filter_kb": _log_int(rng, 1, 4096),
        "ofmap_kb": _log_int(rng, 1, 4096),
        "bandwidth": [rng.randint(1, 64)] + ([rng.randint(1, 64)] if rng.random() < 0.3 else []),
        "ifmap_bank_bw": rng.randint(1, 64), "filter_bank_bw": rng.randint(1, 64),
    }
    for op in ("ifmap", "filter"):
        bw = cfg[f"{op}_bank_bw"]
        cfg[f"{op}_bank_num"] = rng.choice([d for d in range(1, bw + 1) if bw % d == 0])
    gemm = rng.random() < 0.35
    # at least a few folds of the array itself (a 256x256 array's single fold is already large)
    budget = max(WORK_BUDGET[mode], 4 * (2 * rows + cols) * (rows + cols))
    cycle_budget = max(CYCLE_BUDGET[mode], 4 * (2 * rows + cols))
    layers = []
    for i in range(rng.randint(1, 3)):
        for _ in range(200):
            if gemm:
                L = {"name": f"G{i}", "M": _log_int(rng, 1, 300), "N": _log_int(rng, 1, 300),
                     "K": _log_int(rng, 1, 300)}
                P, K, N, n = L["M"], L["K"], L["N"], 1
            else:
                L = _conv_layer(rng, f"L{i}")
                P, K, N, n = conv_dims(L)
            F, cyc, work = layer_cost(df, rows, cols, P, K, N)
            if F <= MAX_FOLDS and n * cyc <= cycle_budget and n * work <= budget:
                layers.append(L)
                break
    if not layers:                          # a tiny layer always fits
        layers.append({"name": "G0", "M": 1, "N": 1, "K": 1} if gemm else
                      {"name": "L0", "H": 1, "W": 1, "Fh": 1, "Fw": 1, "C": 1, "N": 1, "stride": 1})
    return {"seed": seed, "cfg": cfg, "gemm": gemm, "layers": layers}


def cfg_text(c: dict) -> str:
    return scalesim_cfg.cfg_text(c["cfg"])


def topology_text(c: dict) -> str:
    if c["gemm"]:
        lines = ["Layer, M, N, K,"] + [f"{L['name']}, {L['M']}, {L['N']}, {L['K']}," for L in c["layers"]]
    else:
        lines = ["Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"]
        lines += [f"{L['name']}, {L['H']}, {L['W']}, {L['Fh']}, {L['Fw']}, {L['C']}, {L['N']}, {L['stride']},"
                  for L in c["layers"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("-n", type=int, default=3)
    a = ap.parse_args(argv)
    for s in range(a.seed, a.seed + a.n):
        print(json.dumps(draw(s)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
