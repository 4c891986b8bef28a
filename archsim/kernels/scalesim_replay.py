"""SCALE-Sim 3.0.0's buffers replayed on the request streams of one layer (Numba kernel).

The specification is :func:`archsim.arch.systolic_scalesim.replay_raw_reference`: it builds the
per-cycle request matrices with numpy and pushes them through small Python classes, one per
buffer (docs in that module). The kernel computes the same numbers without building the
matrices: each cycle's requests are generated from the fold, the cycle and the layer geometry,
and the buffers keep their state in flat arrays (the CALC buffer remembers, per address, the
last set it was added to; the USER buffer looks addresses up in a CSR of prefetch sets).

Arguments (all integers or int64 arrays, so that the kernel caches on disk):
``df`` 0/1/2 = ws/os/is; ``geom`` = H, W, C, Fh, Fw, stride_h, stride_w, Eh, Ew, N, images,
dilation_h, dilation_w; ``mem`` = user (0/1), ifmap, filter, ofmap words, ifmap, filter, ofmap
bandwidths (words per cycle; CALC: 10, 10, array width), active fraction in percent;
``if_ptr, if_idx`` / ``fl_ptr, fl_idx``: USER mode, the prefetch sets holding each address (CSR;
empty in CALC mode), with ``nsets`` = (ifmap sets, filter sets, ifmap fetch lines, filter fetch
lines). Returns the 17 raw figures listed in ``RAW_FIELDS``.
"""
from __future__ import annotations

import numpy as np

from archsim.kernels._jit import kernel

RAW_FIELDS = ("total", "stall", "if_reads", "if_start", "if_stop", "fl_reads", "fl_start", "fl_stop",
              "of_writes", "of_start", "of_stop", "sram_if_start", "sram_if_stop", "sram_fl_start",
              "sram_fl_stop", "sram_of_start", "sram_of_stop")
CALC_BW = 10


def replay_raw_reference(df, R, C, geom, mem, if_ptr, if_idx, fl_ptr, fl_idx, nsets):
    from archsim.arch.systolic_scalesim import replay_raw_reference as ref
    return ref(df, R, C, geom, mem)


@kernel(reference=replay_raw_reference)
def _replay_kernel(df, R, C, geom, mem, if_ptr, if_idx, fl_ptr, fl_idx, nsets):
    H, W, Cc, Fh, Fw, sh, sw, Eh, Ew, N, images, dh, dw = (geom[0], geom[1], geom[2], geom[3], geom[4], geom[5],
                                                           geom[6], geom[7], geom[8], geom[9], geom[10],
                                                           geom[11], geom[12])
    user = mem[0]
    frac = mem[7]
    P = images * Eh * Ew
    K = Fh * Fw * Cc
    if df == 0:
        Sr, Sc, T = K, N, P
    elif df == 1:
        Sr, Sc, T = P, N, K
    else:
        Sr, Sc, T = K, P, N
    Fr = (Sr + R - 1) // R
    Fc = (Sc + C - 1) // C
    L = R + C + T - 2 if df == 1 else 2 * R + C + T - 2
    width_if = C if df == 2 else R
    width_fl = R if df == 2 else C
    # -- read buffers: state[b, :] for b = 0 ifmap, 1 filter
    # CALC: 0 per_set, 1 n_active, 2 n_prefetch, 3 cur_set, 4 cur_count, 5 start, 6 end, 7 pstart,
    #       8 first_cycle, 9 done_first, 10 reads, 11 pf_start, 12 pf_end, 13 lo, 14 hi
    # USER: 0 per_set, 1 n_active, 2 n_prefetch, 5 start, 10 reads, 13 lo (first response),
    #       14 hi (last prefetch), 15 started, 16 active words, 17 prefetch words, 18 bw, 19 n_sets, 20 fetch lines
    st = np.zeros((2, 21), dtype=np.int64)
    max_addr = np.array([images * H * W * Cc, K * N])
    last_set_if = np.full(max_addr[0] + 1 if user == 0 else 1, -1, dtype=np.int64)
    last_set_fl = np.full(max_addr[1] + 1 if user == 0 else 1, -1, dtype=np.int64)
    for b in range(2):
        words = mem[1 + b]
        if user == 0:
            st[b, 0] = words // 100
            st[b, 1] = frac
            st[b, 2] = 100 - frac
            st[b, 6] = frac - 1
            st[b, 7] = -1
            st[b, 8] = -1
            st[b, 11] = -2
            st[b, 12] = -1
            st[b, 13] = 1 << 60
            st[b, 14] = -(1 << 60)
        else:
            active = (words * frac + 99) // 100
            per_set = (words + 99) // 100
            n_sets = nsets[b]
            st[b, 0] = per_set
            st[b, 1] = min((active + per_set - 1) // per_set, n_sets)
            st[b, 2] = min((words - active + per_set - 1) // per_set, n_sets - st[b, 1])
            st[b, 16] = active
            st[b, 17] = words - active
            st[b, 18] = mem[4 + b]
            st[b, 19] = n_sets
            st[b, 20] = nsets[2 + b]
            st[b, 14] = -1
    # -- write buffer
    obw = mem[6]
    o_total = mem[3]
    o_drain = o_total - (o_total * frac + 99) // 100
    lines = np.zeros(Fr * Sc * T + Sr * Sc + 1, dtype=np.int64)   # >= one line per ofmap write
    nlines = 0
    fill = 0
    dptr = 0
    dend = 0
    free = o_total
    o_writes = 0
    o_lo = 1 << 60
    o_hi = -(1 << 60)
    # -- sram start / stop (served cycles of the first and last line with a request)
    sram = np.full(6, -1, dtype=np.int64)
    stall = 0
    line_no = 0
    last_of_served = 0
    max_of_served = -(1 << 60)
    addrs_if = np.empty(width_if, dtype=np.int64)
    addrs_fl = np.empty(width_fl, dtype=np.int64)
    for fc in range(Fc):
        c0 = fc * C
        nc = min(C, Sc - c0)
        for fr in range(Fr):
            r0 = fr * R
            nr = min(R, Sr - r0)
            for t in range(L):
                cycle = line_no + stall
                line_no += 1
                # ---- this cycle's requests
                for j in range(width_if):
                    a = -1
                    if df == 0:
                        u = t - j
                        if j < nr and u >= R and u < R + T:
                            p, k = u - R, r0 + j
                            a = 0
                    elif df == 1:
                        u = t - j
                        if j < nr and u >= 0 and u < T:
                            p, k = r0 + j, u
                            a = 0
                    else:
                        v = R - 1 - t
                        if t < R and v < nr and j < nc:
                            p, k = c0 + j, r0 + v
                            a = 0
                    if a == 0:
                        img = p // (Eh * Ew)
                        pix = p % (Eh * Ew)
                        ky = k // (Fw * Cc)
                        rem = k % (Fw * Cc)
                        iy = (pix // Ew) * sh + ky * dh
                        ix = (pix % Ew) * sw + (rem // Cc) * dw
                        if iy >= H or ix >= W:
                            a = -1
                        else:
                            a = ((img * H + iy) * W + ix) * Cc + rem % Cc
                    addrs_if[j] = a
                for j in range(width_fl):
                    a = -1
                    if df == 0:
                        v = R - 1 - t
                        if t < R and v < nr and j < nc:
                            a = (c0 + j) * K + r0 + v
                    elif df == 1:
                        u = t - j
                        if j < nc and u >= 0 and u < T:
                            a = (c0 + j) * K + u
                    else:
                        u = t - j
                        if j < nr and u >= R and u < R + T:
                            a = (u - R) * K + r0 + j
                    addrs_fl[j] = a
                n_of = 0
                for j in range(C):
                    u = t - j
                    if df == 1:
                        v = u - (T - 1)
                        if v >= 0 and v < R and R - 1 - v < nr and j < nc:
                            n_of += 1
                    else:
                        if j < nc and u >= 2 * R - 1 and u < 2 * R - 1 + T:
                            n_of += 1
                # ---- read buffers
                s_rd = np.zeros(2, dtype=np.int64)
                for b in range(2):
                    addrs = addrs_if if b == 0 else addrs_fl
                    width = width_if if b == 0 else width_fl
                    if user == 0:
                        last_set = last_set_if if b == 0 else last_set_fl
                        for j in range(width):
                            a = addrs[j]
                            if a < 0:
                                continue
                            if st[b, 8] < 0:
                                st[b, 8] = cycle
                            if last_set[a] >= 0 and last_set[a] >= st[b, 5]:
                                continue
                            last_set[a] = st[b, 3]
                            st[b, 4] += 1
                            if st[b, 4] < st[b, 0]:
                                continue
                            st[b, 3] += 1
                            st[b, 4] = 0
                            if st[b, 3] != st[b, 6] + 1:
                                continue
                            if st[b, 9] == 0:
                                st[b, 12] = st[b, 8] - 2
                                need = (st[b, 2] * st[b, 0] + CALC_BW - 1) // CALC_BW
                                st[b, 11] = st[b, 12] - need + 1
                                st[b, 10] += st[b, 1] * st[b, 0]
                                st[b, 13] = min(st[b, 13], st[b, 11] + 1)
                                st[b, 14] = max(st[b, 14], st[b, 12] + 1)
                                st[b, 7] = st[b, 6] + 1
                                st[b, 9] = 1
                            else:
                                st[b, 10] += st[b, 2] * st[b, 0]
                                st[b, 13] = min(st[b, 13], st[b, 11] + 1)
                                st[b, 14] = max(st[b, 14], st[b, 12] + 1)
                                st[b, 7] += st[b, 2]
                            st[b, 5] += st[b, 2]
                            st[b, 6] += st[b, 2]
                            st[b, 11] = st[b, 12] + 1
                            st[b, 12] = cycle
                    else:
                        ptr = if_ptr if b == 0 else fl_ptr
                        idx = if_idx if b == 0 else fl_idx
                        bw = st[b, 18]
                        if st[b, 15] == 0:
                            n = min((st[b, 16] + bw - 1) // bw, st[b, 20])
                            st[b, 10] += n * bw
                            st[b, 13] = cycle - n
                            st[b, 14] = cycle - 1
                            st[b, 15] = 1
                        offset = 1
                        for j in range(width):
                            a = addrs[j]
                            if a < 0:
                                continue
                            while True:
                                hit = st[b, 1] >= st[b, 19]
                                if not hit:
                                    for q in range(ptr[a], ptr[a + 1]):
                                        if (idx[q] - st[b, 5]) % st[b, 19] < st[b, 1]:
                                            hit = True
                                            break
                                if hit:
                                    break
                                st[b, 5] = (st[b, 5] + st[b, 2]) % st[b, 19]
                                n = (st[b, 17] + bw - 1) // bw
                                st[b, 10] += n * bw
                                st[b, 14] += n + 1
                                potential = st[b, 14] - (cycle + offset)
                                offset += potential
                                if potential > 0:
                                    offset += potential
                        s_rd[b] = offset - 1
                # ---- write buffer
                current = cycle
                for _ in range(n_of):
                    fill += 1
                    free -= 1
                    if fill == obw:
                        lines[nlines] = fill
                        nlines += 1
                        fill = 0
                    if current < dend:
                        if free <= 0:
                            current = dend
                    elif free < o_total - o_drain:
                        if fill:
                            lines[nlines] = fill
                            nlines += 1
                            fill = 0
                        n = min((o_drain + obw - 1) // obw, nlines - dptr)
                        data = n * obw - (obw - lines[dptr + n - 1])
                        o_writes += data
                        free += data
                        dptr += n
                        o_lo = min(o_lo, current)
                        o_hi = max(o_hi, current + n - 1)
                        dend = current + n - 1
                s_of = current - cycle
                # ---- served cycles
                served_if = cycle + 1 + s_rd[0]
                served_fl = cycle + 1 + s_rd[1]
                served_of = cycle + s_of
                any_if = False
                for j in range(width_if):
                    if addrs_if[j] >= 0:
                        any_if = True
                any_fl = False
                for j in range(width_fl):
                    if addrs_fl[j] >= 0:
                        any_fl = True
                if any_if:
                    if sram[0] < 0:
                        sram[0] = served_if + 1
                    sram[1] = served_if + 1
                if any_fl:
                    if sram[2] < 0:
                        sram[2] = served_fl + 1
                    sram[3] = served_fl + 1
                if n_of > 0:
                    if sram[4] < 0:
                        sram[4] = served_of + 1
                    sram[5] = served_of + 1
                last_of_served = served_of
                max_of_served = max(max_of_served, served_of)
                stall += max(s_rd[0], s_rd[1], s_of)
    # ---- finish the read buffers
    for b in range(2):
        if user == 0:
            partial = st[b, 4]
            last = st[b, 3] if partial else st[b, 3] - 1
            if st[b, 9] == 0:
                n_sets = last + 1
                pf_end = -2
                need = (n_sets * st[b, 0] + CALC_BW - 1) // CALC_BW
                pf_start = pf_end - need + 1
                st[b, 10] += (n_sets - (1 if partial else 0)) * st[b, 0] + partial
                st[b, 13] = min(st[b, 13], pf_start + 1)
                st[b, 14] = max(st[b, 14], pf_end + 1)
            else:
                n_full = max(0, (last if partial else last + 1) - st[b, 7])
                st[b, 10] += n_full * st[b, 0] + partial
                st[b, 13] = min(st[b, 13], st[b, 11] + 1)
                st[b, 14] = max(st[b, 14], st[b, 12] + 1)
    # ---- drain the write buffer
    if fill:
        lines[nlines] = fill
        nlines += 1
        fill = 0
    cyc = last_of_served
    while dptr < nlines:
        n = min((o_drain + obw - 1) // obw, nlines - dptr)
        data = n * obw - (obw - lines[dptr + n - 1])
        o_writes += data
        dptr += n
        o_lo = min(o_lo, cyc)
        o_hi = max(o_hi, cyc + n - 1)
        cyc = cyc + n
    out = np.zeros(17, dtype=np.float64)
    out[0] = max_of_served
    out[1] = stall
    out[2] = st[0, 10]
    out[3] = st[0, 13]
    out[4] = st[0, 14]
    out[5] = st[1, 10]
    out[6] = st[1, 13]
    out[7] = st[1, 14]
    out[8] = o_writes
    out[9] = o_lo
    out[10] = o_hi
    for i in range(6):
        out[11 + i] = sram[i] - 1 if sram[i] >= 0 else 0
    return out
