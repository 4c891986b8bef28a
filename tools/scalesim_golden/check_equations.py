#!/usr/bin/env python3
"""Independent check of the SCALE-Sim 3.0.0 equations in EQUATIONS.md against the golden JSONs.

Our own code (numpy only; does not import SCALE-Sim). Two levels:

  closed form  -- Total Cycles, Stall Cycles (0), Overall/Mapping/Compute Util %, SRAM
                  ifmap/filter reads, SRAM ofmap writes, SRAM start/stop cycles and the
                  SRAM bandwidth columns, from the layer shape alone (EQUATIONS.md sections 2-5);
  replay       -- DRAM reads/writes, DRAM start/stop cycles, "Total Cycles (incl. prefetch)"
                  and the DRAM bandwidth columns: these depend on the order of the SRAM request
                  stream, so we rebuild the per-cycle demand streams (EQUATIONS.md section 6) and
                  replay them through our own model of SCALE-Sim's CALC-mode buffers (section 7).

Usage:
    .venv/bin/python tools/scalesim_golden/check_equations.py [--closed-only] [JSON ...]
(default: every tests/golden/scalesim/*.json). Prints one line per case and a summary; exits 1 if
any compared value differs (integers exactly, floats to 1e-9 relative).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "scalesim"

# Constants of scalesim 3.0.0 in CALC mode (see EQUATIONS.md section 7)
SRAM_BYTES = 64 * 1024
WORD = 1
IFMAP_OFFSET, FILTER_OFFSET, OFMAP_OFFSET = 0, 10_000_000, 20_000_000


# ----------------------------------------------------------------------------------------------
# Layer -> operand-matrix view
# ----------------------------------------------------------------------------------------------
def layer_dims(L):
    H, W = L["ifmap_h"], L["ifmap_w"]
    fr, fc = L["filter_h"], L["filter_w"]
    ch, nf, st = L["channels"], L["num_filters"], L["stride"]
    eh = math.ceil((H - fr + st) / st)
    ew = math.ceil((W - fc + st) / st)
    return dict(H=H, W=W, fr=fr, fc=fc, ch=ch, N=nf, st=st, Eh=eh, Ew=ew, P=eh * ew, K=fr * fc * ch)


def spatio_temporal(df, d):
    P, K, N = d["P"], d["K"], d["N"]
    if df == "os":
        return P, N, K
    if df == "ws":
        return K, N, P
    if df == "is":
        return K, P, N
    raise ValueError(df)


# ----------------------------------------------------------------------------------------------
# Closed form
# ----------------------------------------------------------------------------------------------
def closed_form(df, R, C, L):
    d = layer_dims(L)
    Sr, Sc, T = spatio_temporal(df, d)
    Fr, Fc = -(-Sr // R), -(-Sc // C)
    F = Fr * Fc
    P, K, N = d["P"], d["K"], d["N"]
    u0 = min(R, Sr)  # array rows used by the first fold
    if df == "os":
        fold_cycles = R + C + T - 2
        util_den = R + C + T - 2
        ifr, flr, ofw = Fc * P * K, Fr * K * N, P * N + F * (R + C)
        # first request cycle of each operand (+1: read latency of the SRAM model)
        if_start, fl_start = 0 + 1, 0 + 1
        of_start = (T - 1) + (R - u0)
    else:
        fold_cycles = 2 * R + C + T - 2
        util_den = 2 * R + 2 * C + T - 3
        if df == "ws":
            ifr, flr, ofw = Fc * P * K, K * N, Fr * P * N
            if_start, fl_start = R + 1, (R - u0) + 1
        else:
            ifr, flr, ofw = P * K, Fc * K * N, Fr * P * N
            if_start, fl_start = (R - u0) + 1, R + 1
        of_start = 2 * R - 1
    total = F * fold_cycles - 1
    res = {
        "Total Cycles": total,
        "Stall Cycles": 0,
        "Overall Util %": P * N * K * 100 / (total * R * C),
        "Mapping Efficiency %": Sr * Sc / (F * R * C) * 100,
        "Compute Util %": Sr * Sc * T / (F * R * C * util_den) * 100,
        "SRAM IFMAP Reads": ifr,
        "SRAM Filter Reads": flr,
        "SRAM OFMAP Writes": ofw,
        "Avg IFMAP SRAM BW": ifr / total,
        "Avg FILTER SRAM BW": flr / total,
        "Avg OFMAP SRAM BW": ofw / total,
        "SRAM IFMAP Start Cycle": if_start,
        "SRAM Filter Start Cycle": fl_start,
        "SRAM OFMAP Start Cycle": of_start,
    }
    # last request of ifmap/filter streams (EQUATIONS.md 5.3)
    lr = Sr - (Fr - 1) * R  # rows used in the last row fold
    lc = Sc - (Fc - 1) * C  # cols used in the last col fold
    base = (F - 1) * fold_cycles
    if df == "os":
        res["SRAM IFMAP Stop Cycle"] = base + (T - 1) + (lr - 1) + 1
        res["SRAM Filter Stop Cycle"] = base + (T - 1) + (lc - 1) + 1
        res["SRAM OFMAP Stop Cycle"] = base + (T - 1) + (R - 1) + (lc - 1)
    elif df == "ws":
        res["SRAM IFMAP Stop Cycle"] = base + R + (T - 1) + (lr - 1) + 1
        res["SRAM Filter Stop Cycle"] = base + (R - 1) + 1
        res["SRAM OFMAP Stop Cycle"] = base + (2 * R - 1) + (T - 1) + (lc - 1)
    else:
        res["SRAM IFMAP Stop Cycle"] = base + (R - 1) + 1
        res["SRAM Filter Stop Cycle"] = base + R + (T - 1) + (lr - 1) + 1
        res["SRAM OFMAP Stop Cycle"] = base + (2 * R - 1) + (T - 1) + (lc - 1)
    return res


# ----------------------------------------------------------------------------------------------
# Demand streams (our own construction of the per-cycle SRAM request matrices)
# ----------------------------------------------------------------------------------------------
def operand_mats(d):
    P, K, N = d["P"], d["K"], d["N"]
    p = np.arange(P)[:, None]
    k = np.arange(K)[None, :]
    oy, ox = p // d["Ew"], p % d["Ew"]
    ky, rem = k // (d["fc"] * d["ch"]), k % (d["fc"] * d["ch"])
    kx, c = rem // d["ch"], rem % d["ch"]
    iy, ix = oy * d["st"] + ky, ox * d["st"] + kx
    A = ((iy * d["W"] + ix) * d["ch"] + c + IFMAP_OFFSET).astype(np.int64)
    A[(iy >= d["H"]) | (ix >= d["W"])] = -1  # window runs past the (unpadded) input edge
    B = (np.arange(N)[None, :] * K + np.arange(K)[:, None] + FILTER_OFFSET).astype(np.int64)
    O = (np.arange(P)[:, None] * N + np.arange(N)[None, :] + OFMAP_OFFSET).astype(np.int64)
    return A, B, O


from archsim.arch.systolic_scalesim import fold_demands  # noqa: E402  (archsim's own demand matrices)


def demand_streams(df, R, C, L):
    """Yield, fold by fold (col fold outer, row fold inner), the ifmap/filter/ofmap request blocks."""
    d = layer_dims(L)
    A, B, O = operand_mats(d)
    yield from fold_demands(df, R, C, A, B, O)


# ----------------------------------------------------------------------------------------------
# Replay of the CALC-mode buffers
# ----------------------------------------------------------------------------------------------
def read_buffer_replay(addrs, cycles, first_req_cycle):
    """Estimate-bandwidth read buffer: distinct addresses per 'epoch' of 50 sets x 655 words.

    Returns (dram_reads, dram_start_cycle, dram_stop_cycle)."""
    set_sz = (SRAM_BYTES // WORD) // 100      # 655 words per set
    n_act = int(0.5 * 100)                    # 50 sets in the active half
    E = n_act * set_sz                         # distinct words that close an epoch
    bw0 = 10                                   # default prefetch bandwidth in CALC mode
    lat = 1                                    # read port latency
    pos, total, closes = 0, 0, []
    L = len(addrs)
    while pos < L:
        win = 4 * E
        while True:
            seg = addrs[pos : pos + win]
            u, first = np.unique(seg, return_index=True)
            if len(u) >= E or pos + win >= L:
                break
            win *= 4
        if len(u) >= E:
            first.sort()
            b = first[E - 1]
            total += E
            closes.append(int(cycles[pos + b]))
            pos += b + 1
        else:
            total += len(u)
            rem_unique = len(u)
            pos = L
            break
    else:
        rem_unique = 0
    if not closes:
        nsets = -(-rem_unique // set_sz)
        need = math.ceil(nsets * set_sz / bw0)
        end = -1 - lat
        return total, end - need + 1 + lat, end + lat
    need = math.ceil(E / bw0)
    end = first_req_cycle - 1 - lat
    start = end - need + 1
    return total, start + lat, closes[-1] + lat


def write_buffer_replay(counts, W, return_drains=False):
    """Ofmap write buffer: counts[t] = number of ofmap words written at cycle t.

    Returns (dram_writes, dram_start_cycle, dram_stop_cycle)."""
    S = SRAM_BYTES // WORD
    D = S - int(math.ceil(S * 0.5))           # drain half
    thr = S - D                                # drain when free space drops below this
    LD = -(-D // W)                            # lines per drain
    cum = np.cumsum(counts)
    total_elems = int(cum[-1])
    free, cur, g = S, 0, 0                     # g: words consumed so far
    nlines, ptr, drain_end = 0, 0, 0
    partial = {}
    acc = 0
    drains = []

    def consume(k):
        nonlocal cur, nlines, free, g
        full = (cur + k) // W
        nlines += full
        cur = (cur + k) % W
        free -= k
        g += k

    def fill(i):
        return partial.get(i, W)

    def drain(t):
        nonlocal ptr, acc, free, drain_end
        n = min(LD, nlines - ptr)
        data = n * W - (W - fill(ptr + n - 1))
        acc += data
        free += data
        ptr += n
        drains.append((t, t + n - 1))
        drain_end = t + n - 1
        return t + n - 1

    def force():
        nonlocal cur, nlines
        if cur > 0:
            partial[nlines] = cur
            nlines += 1
            cur = 0

    while True:
        x = max(1, free - thr + 1)             # words until free < thr
        g_trig = g + x
        if drain_end > 0:
            first_after = int(cum[drain_end - 1]) + 1 if drain_end - 1 < len(cum) else total_elems + 1
            if g_trig < first_after:
                if first_after - 1 - g >= free:
                    raise RuntimeError("ofmap buffer would stall; not modelled")
                g_trig = first_after
        if g_trig > total_elems:
            break
        t = int(np.searchsorted(cum, g_trig, side="left"))
        consume(g_trig - g)
        force()
        drain(t)
    consume(total_elems - g)
    force()
    cycle = len(counts) - 1
    while ptr < nlines:
        cycle = drain(cycle) + 1
    if return_drains:
        return drains
    return acc, min(s for s, _ in drains), max(e for _, e in drains)


def replay(df, R, C, L):
    ifs, fls, ofs = [], [], []
    for ifm, flt, ofm in demand_streams(df, R, C, L):
        ifs.append(ifm)
        fls.append(flt)
        ofs.append((ofm != -1).sum(axis=1))
    res = {}
    for name, blocks in (("IFMAP", ifs), ("Filter", fls)):
        m = np.concatenate(blocks)
        rows = np.repeat(np.arange(m.shape[0]), m.shape[1])
        flat = m.ravel()
        keep = flat != -1
        addrs, cyc = flat[keep], rows[keep]
        reads, s, e = read_buffer_replay(addrs, cyc, int(cyc[0]))
        res[f"DRAM {name} Reads"] = reads
        res[f"DRAM {name} Start Cycle"] = s
        res[f"DRAM {name} Stop Cycle"] = e
        # SRAM stop cycle straight from the stream (cross-checks the closed form)
        res[f"_sram_{name}_stop"] = int(cyc[-1]) + 1
        del m, rows, flat
    counts = np.concatenate(ofs)
    w, s, e = write_buffer_replay(counts, C)
    res["DRAM OFMAP Writes"] = w
    res["DRAM OFMAP Start Cycle"] = s
    res["DRAM OFMAP Stop Cycle"] = e
    res["Total Cycles (incl. prefetch)"] = e - min(res["DRAM IFMAP Start Cycle"], res["DRAM Filter Start Cycle"])
    for name, key in (("IFMAP", "DRAM IFMAP Reads"), ("FILTER", "DRAM Filter Reads"), ("OFMAP", "DRAM OFMAP Writes")):
        nm = "Filter" if name == "FILTER" else name
        res[f"Avg {name} DRAM BW"] = res[key] / (res[f"DRAM {nm} Stop Cycle"] - res[f"DRAM {nm} Start Cycle"] + 1)
    return res


# ----------------------------------------------------------------------------------------------
def golden_value(layer, key):
    for rep in ("compute_report", "bandwidth_report", "detailed_access_report"):
        if key in layer[rep]:
            return layer[rep][key]
    raise KeyError(key)


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return int(a) == int(b)


def check_file(path, closed_only=False, verbose=False):
    doc = json.loads(Path(path).read_text())
    h = doc["header"]
    df, R, C = h["dataflow"], h["array_rows"], h["array_cols"]
    n_closed_ok = n_replay_ok = 0
    bad = []
    for L in doc["layers"]:
        cf = closed_form(df, R, C, L)
        mism = [(k, v, golden_value(L, k)) for k, v in cf.items() if not same(v, golden_value(L, k))]
        if not mism:
            n_closed_ok += 1
        else:
            bad.append((L["name"], "closed", mism))
        if closed_only:
            continue
        rp = replay(df, R, C, L)
        mism = []
        for k, v in rp.items():
            if k.startswith("_sram_"):
                gk = f"SRAM {k.split('_')[2]} Stop Cycle"
                gv = golden_value(L, gk)
            else:
                gv = golden_value(L, k)
            if not same(v, gv):
                mism.append((k, v, gv))
        if not mism:
            n_replay_ok += 1
        else:
            bad.append((L["name"], "replay", mism))
    return h["case"], len(doc["layers"]), n_closed_ok, n_replay_ok, bad


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="*")
    ap.add_argument("--closed-only", action="store_true")
    a = ap.parse_args(argv)
    files = a.files or sorted(str(p) for p in GOLDEN.glob("*.json"))
    tot_l = tot_c = tot_r = 0
    cfg_c = cfg_r = 0
    any_bad = False
    for f in files:
        case, n, nc, nr, bad = check_file(f, a.closed_only)
        tot_l += n
        tot_c += nc
        tot_r += nr
        cfg_c += nc == n
        cfg_r += nr == n
        tag = f"closed {nc}/{n}" + ("" if a.closed_only else f", replay {nr}/{n}")
        print(f"{case:34s} {tag}", flush=True)
        for name, lvl, mism in bad:
            any_bad = True
            for k, v, gv in mism[:6]:
                print(f"    MISMATCH {name} [{lvl}] {k}: ours {v} vs scalesim {gv}")
    print(f"SUMMARY: {len(files)} configs, {tot_l} layers; closed form exact on {tot_c} layers "
          f"({cfg_c} configs fully)" + ("" if a.closed_only else
          f"; DRAM replay exact on {tot_r} layers ({cfg_r} configs fully)"))
    return 1 if any_bad else 0


if __name__ == "__main__":
    sys.exit(main())
