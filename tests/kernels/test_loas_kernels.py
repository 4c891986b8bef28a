"""The dual-sparse kernels (archsim/kernels/{bits,spike_compress,innerjoin,pair_counts,tile_schedule})
against their numpy references, on seeded random and edge-case inputs, plus hand-checked cases."""
import numpy as np
import pytest

from archsim.kernels import bits, innerjoin, pair_counts, spike_compress, tile_schedule


def csr(mask):
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=mask.shape[0]), out=indptr[1:])
    return indptr, cols, rows


# --- bits ----------------------------------------------------------------------------------------

def test_popcount64_matches_reference(rng):
    words = list(rng.integers(0, 2**63, size=200, dtype=np.uint64)) + [np.uint64(0), np.uint64(2**64 - 1), np.uint64(1 << 63)]
    for w in words:
        assert bits.popcount64(np.uint64(w)) == bits.popcount64_reference(w)


@pytest.mark.parametrize("K", [1, 63, 64, 65, 130, 200])
def test_pack_bitmask_bit_k_is_word_k_div_64(rng, K):
    mask = rng.random((3, K)) < 0.4
    packed = bits.pack_bitmask(mask)
    assert packed.shape == (3, -(-K // 64)) and packed.dtype == np.uint64
    for r in range(3):
        for k in range(K):
            assert bool((int(packed[r, k // 64]) >> (k % 64)) & 1) == mask[r, k]


# --- spike compression ------------------------------------------------------------------------------

@pytest.mark.parametrize("T", [1, 4, 8, 13])
@pytest.mark.parametrize("silent_max", [0, 1])
def test_compress_rows_random(rng, T, silent_max):
    words = (rng.integers(0, 2**T, size=(9, 70)) * (rng.random((9, 70)) < 0.5)).astype(np.uint64)
    got = spike_compress.compress_rows(words, silent_max)
    ref = spike_compress.compress_rows(words, silent_max, backend="reference")
    for a, b in zip(got, ref):
        assert np.array_equal(a, b)
    # independent check: kept words are exactly those firing more than silent_max times
    indptr, indices, values = got
    counts = np.array([[bin(int(w)).count("1") for w in row] for row in words])
    assert indptr[-1] == (counts > silent_max).sum()
    assert np.array_equal(values, words[counts > silent_max])


@pytest.mark.parametrize("words", [
    np.zeros((4, 7), dtype=np.uint8),                      # every neuron silent
    np.array([[0, 0, 5, 0]], dtype=np.uint8),              # a single non-silent neuron
    np.array([[1], [3], [0]], dtype=np.uint8),             # K = 1
    np.full((2, 3), 0b1111, dtype=np.uint16),              # every neuron fires at every t
])
def test_compress_rows_edge_cases(words):
    for silent_max in (0, 1):
        got = spike_compress.compress_rows(words, silent_max)
        ref = spike_compress.compress_rows(words, silent_max, backend="reference")
        for a, b in zip(got, ref):
            assert np.array_equal(a, b)


def test_compressed_bits_fig8_example():
    """LoAS Fig. 8: a row a0,0..a0,3 with words 1010 (t0,t2), silent, silent, 0111 (t1..t3):
    bitmask 1001 (4 bits) + two 4-bit words = 12 bits."""
    words = np.array([[0b0101, 0, 0, 0b1110]], dtype=np.uint8)
    indptr, indices, values = spike_compress.compress_rows(words)
    assert indices.tolist() == [0, 3] and values.tolist() == [0b0101, 0b1110]
    assert spike_compress.compressed_bits(1, 4, len(values), 4) == 12


# --- inner joins --------------------------------------------------------------------------------

@pytest.mark.parametrize("K,chunk", [(1, 64), (100, 64), (128, 128), (300, 128), (257, 192)])
def test_join_counts_random(rng, K, chunk):
    a = rng.random((6, K)) < 0.3
    b = rng.random((5, K)) < 0.1
    a[0] = False                              # an all-zero row
    got = innerjoin.join_counts(a, b, chunk)
    ref = innerjoin.join_counts(a, b, chunk, backend="reference")
    assert np.array_equal(got, ref)
    assert got.sum() == (a.astype(int) @ b.T.astype(int)).sum()
    assert got.shape == (6, 5, -(-K // chunk))


@pytest.mark.parametrize("K", [1, 64, 65, 300])
def test_inner_join_offsets(rng, K):
    a = rng.random(K) < 0.5
    b = rng.random(K) < 0.3
    got = innerjoin.inner_join(a, b)
    ref = innerjoin.inner_join(a, b, backend="reference")
    for x, y in zip(got, ref):
        assert np.array_equal(x, y)
    pos, off_a, off_b = got
    # the offsets index the matched values in each compressed stream
    assert np.array_equal(np.nonzero(a)[0][off_a], pos) and np.array_equal(np.nonzero(b)[0][off_b], pos)


def test_inner_join_empty_and_single():
    K = 130
    a, b = np.zeros(K, bool), np.zeros(K, bool)
    assert all(len(x) == 0 for x in innerjoin.inner_join(a, b))
    a[[3, 129]] = True
    b[129] = True
    pos, off_a, off_b = innerjoin.inner_join(a, b)
    assert pos.tolist() == [129] and off_a.tolist() == [1] and off_b.tolist() == [0]


@pytest.mark.parametrize("T", [1, 2, 4, 8])
def test_ftp_accumulate_is_exact(rng, T):
    """Speculation + correction gives exactly sum_k spike[t,k] * w[k] for every t."""
    for _ in range(20):
        K = int(rng.integers(1, 300))
        words = rng.integers(0, 2**T, K) * (rng.random(K) < 0.4)
        weights = rng.integers(-127, 128, K) * (rng.random(K) < 0.3)
        out, matches, mispredict = innerjoin.ftp_accumulate(words, weights, T)
        ref_out, ref_matches, ref_mis = innerjoin.ftp_accumulate(words, weights, T, backend="reference")
        assert np.array_equal(out, ref_out) and (matches, mispredict) == (ref_matches, ref_mis)
        spikes = (words[None, :] >> np.arange(T)[:, None]) & 1
        assert np.array_equal(out, spikes @ weights)


def test_ftp_accumulate_fig10_example():
    """Fig. 10: A = 1111 is discarded (no correction); A = 1010 corrects t1 and t3."""
    words = np.array([0b1111, 0b0101])     # bit t = timestep t
    weights = np.array([3, 5])
    out, matches, mispredict = innerjoin.ftp_accumulate(words, weights, 4)
    assert out.tolist() == [8, 3, 8, 3] and matches == 2 and mispredict == 1


# --- matched pairs per PE and tile ------------------------------------------------------------------

@pytest.mark.parametrize("split", ["m", "n"])
@pytest.mark.parametrize("shape,tile", [((37, 45, 300), (16, 32, 128)), ((5, 3, 7), (16, 16, 128)),
                                        ((64, 16, 256), (16, 16, 64)), ((1, 1, 1), (1, 1, 1))])
def test_pe_loads_random(rng, split, shape, tile):
    M, N, K = shape
    a = rng.random((M, K)) < 0.25
    b = rng.random((K, N)) < 0.1
    a[0] = False
    ai, aj, rows = csr(a)
    bi, bj, _ = csr(b)
    flags = rng.integers(0, 5, len(aj))
    got = pair_counts.pe_loads(ai, aj, flags, bi, bj, shape, tile, split)
    ref = pair_counts.pe_loads(ai, aj, flags, bi, bj, shape, tile, split, backend="reference")
    assert all(np.array_equal(x, y) for x, y in zip(got, ref))
    assert got[0].sum() == (a.astype(int) @ b.astype(int)).sum()
    assert got[2].sum() == a.sum() and got[2].shape == (-(-M // tile[0]), -(-K // tile[2]))
    f = np.zeros((M, K), dtype=int)
    f[rows, aj] = flags
    assert got[1].sum() == (f @ b.astype(int)).sum()


def test_pe_loads_single_pair_lands_in_its_bin():
    """One spike at (m=20, k=130) and one weight at (k=130, n=40), tiles 16 x 32 x 128:
    split m -> loads[20, 40 // 32, 130 // 128] = loads[20, 1, 1]; split n -> loads[40, 20 // 16, 1]."""
    M, N, K = 21, 41, 131
    a = np.zeros((M, K), bool)
    a[20, 130] = True
    b = np.zeros((K, N), bool)
    b[130, 40] = True
    ai, aj, _ = csr(a)
    bi, bj, _ = csr(b)
    loads_m, _, blocks = pair_counts.pe_loads(ai, aj, [1], bi, bj, (M, N, K), (16, 32, 128), "m")
    loads_n, _, _ = pair_counts.pe_loads(ai, aj, [1], bi, bj, (M, N, K), (16, 32, 128), "n")
    assert blocks.tolist() == [[0, 0], [0, 1]]
    assert loads_m.shape == (21, 2, 2) and loads_m[20, 1, 1] == 1 and loads_m.sum() == 1
    assert loads_n.shape == (41, 2, 2) and loads_n[40, 1, 1] == 1 and loads_n.sum() == 1


# --- buffers, TPPE pipeline, scheduling --------------------------------------------------------------

def test_fifo_buffer_random(rng):
    for _ in range(30):
        n = int(rng.integers(1, 80))
        ids = rng.integers(0, 10, n)
        sizes = rng.integers(0, 12, n)
        cap = int(rng.integers(0, 40))
        assert np.array_equal(tile_schedule.fifo_buffer_hits(ids, sizes, cap),
                              tile_schedule.fifo_buffer_hits(ids, sizes, cap, backend="reference"))


def test_fifo_buffer_by_hand():
    """Capacity 10. A(6) miss; B(4) miss (full: 10); A hit; C(5) miss, evicts A (oldest) -> B, C;
    A miss again, evicts B -> C, A; B(4) miss and evicts C -> A, B; D(20) larger than the
    buffer: streamed, a miss that keeps nothing."""
    ids = [0, 1, 0, 2, 0, 1, 3, 0]
    sizes = [6, 4, 6, 5, 6, 4, 20, 6]
    hits = tile_schedule.fifo_buffer_hits(ids, sizes, 10)
    assert hits.tolist() == [False, False, True, False, False, False, False, True]


def test_tppe_pipeline_random_against_cycle_stepped_reference(rng):
    for _ in range(150):
        n, P = int(rng.integers(1, 10)), int(rng.integers(1, 5))
        loads = rng.integers(0, 15, (n, P)) * (rng.random((n, P)) < 0.7)
        mins = rng.integers(0, 20, n) * (rng.random(n) < 0.3)
        D, L, look = int(rng.integers(1, 10)), int(rng.integers(0, 12)), bool(rng.integers(0, 2))
        got = tile_schedule.tppe_pipeline(loads, mins, D, L, look)
        ref = tile_schedule.tppe_pipeline(loads, mins, D, L, look, backend="reference")
        assert np.array_equal(got[0], ref[0]) and got[1:] == ref[1:]


def test_tppe_pipeline_by_hand():
    """One PE, one tile of 10 matches, laggy sum ready at cycle 8.
    FIFO depth 8: entries issue at cycles 0..9 with no stall (entry 8 pushes at cycle 8, the cycle
    entry 0 pops); pops at 8..17 -> tile 10 cycles, drain 18 - 10 = 8.
    FIFO depth 2: entries 0, 1 at cycles 0, 1; entry j >= 2 waits for entry j-2's pop at 8 + (j-2)
    -> issues at j + 6; the last (j = 9) at 15 -> tile 16 cycles, 6 of them stalls; pops at
    8..17 -> drain 18 - 16 = 2."""
    tiles, drain, stall = tile_schedule.tppe_pipeline(np.array([[10]]), None, 8, 8)
    assert tiles.tolist() == [10] and drain == 8 and stall == 0
    tiles, drain, stall = tile_schedule.tppe_pipeline(np.array([[10]]), None, 2, 8)
    assert tiles.tolist() == [16] and drain == 2 and stall == 6


def test_tppe_pipeline_laggy_throughput_limits_short_tiles():
    """Two PEs, eight tiles, PE 0 has 2 matches per tile, PE 1 none; laggy 8 cycles, FIFO 2.
    The laggy unit takes one chunk at a time, so chunk i is ready at 8(i+1) and tile i's entries
    pop at 8(i+1), 8(i+1)+1. Tile 0 pushes at 0, 1 (FIFO full) and ends at 2; tile i >= 1 pushes
    when tile i-1's entries pop, at 8i, 8i+1, and ends at 8i+2. Tiles: [2, 8, 8, 8, 8, 8, 8, 8]
    = 58 cycles where the paper model counts 16: 42 stall cycles."""
    loads = np.array([[2, 0]] * 8)
    tiles, drain, stall = tile_schedule.tppe_pipeline(loads, None, 2, 8)
    ref = tile_schedule.tppe_pipeline(loads, None, 2, 8, backend="reference")
    assert tiles.tolist() == ref[0].tolist()
    assert tiles.tolist() == [2] + [8] * 7 and stall == 58 - 16


def test_list_schedule_loads(rng):
    jobs = rng.integers(0, 9, (25, 30)) * (rng.random((25, 30)) < 0.6)
    got = tile_schedule.list_schedule_loads(jobs, 4)
    assert np.array_equal(got, tile_schedule.list_schedule_loads(jobs, 4, backend="reference"))
    assert np.array_equal(got.sum(axis=1), jobs.sum(axis=1))
    # by hand: jobs 5, 3, 3, 2 on 2 PEs -> PE0 5, PE1 3, PE1 6, PE0 7
    assert tile_schedule.list_schedule_loads(np.array([[5, 3, 3, 2]]), 2).tolist() == [[7, 6]]


def test_kernels_reject_bad_input():
    with pytest.raises(ValueError):
        spike_compress.compress_rows(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(ValueError):
        innerjoin.join_counts(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        pair_counts.pe_loads([0, 0], [], [], [0], [], (1, 1, 1), (1, 1, 1), "t")
    with pytest.raises(ValueError):
        tile_schedule.tppe_pipeline(np.array([[-1]]))
    with pytest.raises(ValueError):
        tile_schedule.fifo_buffer_hits([1, 2], [1], 4)
    with pytest.raises(ValueError):
        innerjoin.join_counts(np.zeros((1, 3)), np.zeros((1, 3)), backend="cuda")


@pytest.mark.parametrize("shape,tile", [((300, 45), (128, 32)), ((1, 1), (128, 16)), ((64, 64), (64, 64)),
                                        ((130, 17), (64, 16))])
def test_weight_tiles(rng, shape, tile):
    from archsim.kernels.tile_stats import weight_tiles
    w = (rng.integers(-3, 4, shape) * (rng.random(shape) < 0.1)).astype(np.int8)
    w[:, 0] = 0                                   # an empty column
    got = weight_tiles(w, *tile)
    ref = weight_tiles(w, *tile, backend="reference")
    assert all(np.array_equal(a, b) for a, b in zip(got, ref))
    indptr, indices, nnz, nzcols = got
    assert indptr[-1] == np.count_nonzero(w) == nnz.sum()
    assert nzcols.sum() == sum(np.count_nonzero(w[c:c + tile[0]].any(axis=0)) for c in range(0, shape[0], tile[0]))
