"""The non-ideality engine: exactness without noise, noise statistics, ADC, IR drop, seeds."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archsim.arch.imc.params import IrDrop, NoiseModel
from archsim.noise import (ClipFormerTransform, CrossbarSpec, apply_noise, conv_row_groups, dynamic_matmul, matmul,
                           noise_moments, program, quantize)
from archsim.noise.ir_drop import ir_drop_dense

IDEAL = CrossbarSpec(rows=16, cols=16, bits_per_cell=2, weight_bits=6, input_bits=5, ideal_adc=True,
                     g_min_us=0.5, g_max_us=20.0)


def integer_product(x, W, spec, signed=None):
    wq, ws, _ = quantize(W, spec.weight_bits, signed=True, axis=1 if spec.weight_scale == "channel" else None)
    xq, xs, _ = quantize(x, spec.input_bits, signed=signed)
    return xq @ wq, xs * ws


@pytest.mark.parametrize("signed_weights", ["offset", "differential"])
@pytest.mark.parametrize("dac_bits", [1, 2, 3])
@pytest.mark.parametrize("unsigned_input", [False, True])
@pytest.mark.parametrize("weight_scale", ["tensor", "channel"])
def test_noise_off_ideal_adc_is_exact(rng, signed_weights, dac_bits, unsigned_input, weight_scale):
    """All noise off and an ideal ADC: the crossbar computes the quantised product exactly."""
    spec = IDEAL.replace(signed_weights=signed_weights, dac_bits=dac_bits, weight_scale=weight_scale)
    W, x = rng.normal(size=(40, 7)), rng.normal(size=(9, 40))
    if unsigned_input:
        x = np.abs(x)
    exact, scale = integer_product(x, W, spec)
    for backend in ("numba", "reference"):
        y = matmul(x, program(W, spec), backend=backend)
        np.testing.assert_allclose(y / scale, exact, rtol=0, atol=1e-9 * np.abs(exact).max())


def test_enough_adc_bits_is_exact_and_fewer_are_bounded(rng):
    """16-row groups of 2-bit cells with 1-bit input planes: column sums up to 16 x 3 = 48 levels
    -> B = 6 bits. A fixed-range 6-bit ADC (step 1 level) is exact; a 4-bit one has step 63/15 =
    4.2 levels and errs by at most half a step per read, i.e. per output at most
    sum_g sum_p |2^p| sum_c 2^(2c) x 2.1 levels (3 groups, 5 planes, 3 slices)."""
    spec = IDEAL.replace(ideal_adc=False, adc_bits=6, adc_range="fixed")
    W, x = rng.normal(size=(40, 7)), rng.normal(size=(9, 40))
    exact, scale = integer_product(x, W, spec)
    np.testing.assert_allclose(matmul(x, program(W, spec)) / scale, exact, atol=1e-9 * np.abs(exact).max())
    y4 = matmul(x, program(W, spec.replace(adc_bits=4))) / scale
    bound = 3 * (1 + 2 + 4 + 8 + 16) * (1 + 4 + 16) * (63 / 15) / 2
    err = np.abs(y4 - exact)
    assert 0 < err.max() <= bound


def test_dynamic_adc_range(rng):
    """Per-tensor min..max range: with 20 bits the error is negligible, with 3 bits it is not."""
    spec = IDEAL.replace(ideal_adc=False, adc_range="dynamic")
    W, x = rng.normal(size=(40, 7)), rng.normal(size=(9, 40))
    exact, scale = integer_product(x, W, spec)
    e20 = np.abs(matmul(x, program(W, spec.replace(adc_bits=20))) / scale - exact).max()
    e3 = np.abs(matmul(x, program(W, spec.replace(adc_bits=3))) / scale - exact).max()
    assert e20 < 1e-3 * np.abs(exact).max() < e3


@settings(derandomize=True, max_examples=30, deadline=None)
@given(kind=st.sampled_from(["proportional", "additive", "txsim"]),
       sigma=st.floats(0.005, 0.08), gamma=st.floats(0.5, 5.0), level=st.integers(0, 3),
       g_max=st.floats(5.0, 100.0), on_off=st.floats(10.0, 100.0))
def test_programmed_conductance_statistics(kind, sigma, gamma, level, g_max, on_off):
    """Property: over 20,000 draws, the programmed conductances of a level have the mean and
    variance of the noise model (within 5 standard errors). Sigma is small enough that clipping
    at 0 never happens."""
    spec = CrossbarSpec(rows=64, cols=64, bits_per_cell=2, weight_bits=2, g_min_us=g_max / on_off, g_max_us=g_max,
                        programming=NoiseModel(kind=kind, sigma=sigma, gamma=gamma))
    target = spec.g_min_us + level * spec.level_us
    draws = apply_noise(np.full(20000, target), spec.programming, spec.g_min_us, spec.g_max_us,
                        np.random.default_rng(level))
    mean, var = noise_moments(np.array([target]), spec.programming, spec.g_min_us, spec.g_max_us)
    n = draws.size
    if var[0] == 0:
        assert np.all(draws == target)
        return
    assert abs(draws.mean() - mean[0]) < 5 * np.sqrt(var[0] / n)
    assert abs(draws.var(ddof=1) - var[0]) < 5 * var[0] * np.sqrt(2 / (n - 1))


def test_program_draws_the_model_per_cell():
    """Through ``program``: 400 programmings of a 2-bit weight matrix; each cell's conductances
    have the TxSim mean G and variance gamma^2 sigma^2 (G - G_min)(G_max - G_min)."""
    spec = CrossbarSpec(rows=8, cols=8, bits_per_cell=2, weight_bits=4, g_min_us=1.0, g_max_us=10.0,
                        programming=NoiseModel(kind="txsim", sigma=0.02, gamma=3))
    W = np.arange(-7, 8, dtype=float).reshape(15, 1) * np.ones((1, 2))
    G = np.stack([program(W, spec, seed=s).G_us for s in range(400)])
    target = program(W, spec.replace(programming=NoiseModel())).G_us
    mean, var = noise_moments(target, spec.programming, spec.g_min_us, spec.g_max_us)
    z = (G.mean(axis=0) - mean) / np.sqrt(np.where(var > 0, var, 1) / 400)
    assert np.abs(z[var > 0]).max() < 5
    assert np.all(G.std(axis=0)[var == 0] == 0)
    ratio = G.var(axis=0, ddof=1)[var > 0] / var[var > 0]
    assert abs(ratio.mean() - 1) < 0.05


def test_read_noise_output_variance():
    """Proportional read noise of every cell per read: for 1-bit inputs and one slice the output
    noise has variance sigma^2 sum_k x_k G_k^2 (in levels^2) - checked over 300 reads."""
    spec = CrossbarSpec(rows=32, cols=32, bits_per_cell=2, weight_bits=2, input_bits=1, ideal_adc=True,
                        g_min_us=1.0, g_max_us=10.0, read_sigma=0.1)
    rng = np.random.default_rng(4)
    W = rng.integers(-1, 2, (32, 5)).astype(float)
    x = rng.integers(0, 2, (3, 32)).astype(float)
    arr = program(W, spec)
    ys = np.stack([matmul(x, arr, seed=s) for s in range(300)])
    g_levels = arr.G_us / spec.level_us                     # rows already in crossbar order (one group)
    expected = 0.1 ** 2 * (x[:, arr.perm] @ g_levels ** 2)
    ratio = ys.var(axis=0, ddof=1) / expected
    assert abs(ratio.mean() - 1) < 0.05
    clean = matmul(x, program(W, spec.replace(read_sigma=0.0)))
    np.testing.assert_allclose(ys.mean(axis=0), clean, atol=5 * np.sqrt(expected.max() / 300))


def test_device_variation_is_fixed_per_array(rng):
    """d2d variation belongs to the physical array: with the same d2d_seed two writes differ only
    by their write noise."""
    spec = IDEAL.replace(d2d_sigma=0.1, write=NoiseModel(kind="txsim", sigma=0.05, gamma=3))
    W = rng.normal(size=(20, 4))
    a = program(W, spec.replace(write=NoiseModel()), dynamic=True, seed=1, d2d_seed=9)
    b = program(W, spec.replace(write=NoiseModel()), dynamic=True, seed=2, d2d_seed=9)
    np.testing.assert_array_equal(a.G_us, b.G_us)
    c = program(W, spec, dynamic=True, seed=2, d2d_seed=9)
    assert not np.array_equal(b.G_us, c.G_us)


def test_clipformer_transform_by_hand():
    """G_min 1, G_max 10, alpha 2, beta 0.5: shift by (alpha - 1) G_min = 1, floor 1, clip 5:
    1 -> max(0, 1) = 1; 4 -> 3; 7 -> min(6, 5) = 5; 10 -> 5."""
    t = ClipFormerTransform(alpha=2, beta=0.5)
    np.testing.assert_array_equal(t(np.array([1.0, 4.0, 7.0, 10.0]), 1.0, 10.0), [1.0, 3.0, 5.0, 5.0])
    with pytest.raises(ValueError, match="alpha >= 1"):
        ClipFormerTransform(alpha=0.5)
    with pytest.raises(ValueError, match="granularity"):
        ClipFormerTransform(granularity="slice")


def test_clipformer_lowers_write_noise():
    """On whole values (differential pairs, 7 magnitude bits in 2-bit slices), beta 0.25 clips
    magnitudes at rint((0.25 * 10 - 0.1) / 9.9 * 127) = 31: slice 3 (bit 6) is always empty and
    slice 2 (bits 4-5) holds at most 1, so the write-noise variance of the stored values (each
    cell's variance times its significance squared) more than halves (0.40 of it here)."""
    spec = CrossbarSpec(g_min_us=0.1, g_max_us=10.0, signed_weights="differential",
                        write=NoiseModel(kind="txsim", sigma=0.05, gamma=5))
    k = np.random.default_rng(0).normal(size=(64, 50))
    plain = program(k, spec.replace(write=NoiseModel()), dynamic=True)
    clipped = program(k, spec.replace(write=NoiseModel()), dynamic=True, transform=ClipFormerTransform(2, 0.25))
    def var(arr):
        cell = noise_moments(arr.G_us, spec.write, spec.g_min_us, spec.g_max_us)[1] / spec.level_us ** 2
        return float((cell.reshape(64, 50, 8) * arr.col_weights ** 2).sum())
    assert var(clipped) < 0.5 * var(plain)
    digits = np.rint((clipped.G_us - 0.1) / spec.level_us).reshape(64, 50, 8)    # [pos s0..s3, neg s0..s3]
    assert digits[..., [3, 7]].max() == 0 and digits[..., [2, 6]].max() == 1
    assert np.abs(clipped.stored_weights()).max() == 31
    # per cell instead: every cell is clipped to beta G_max
    cells = program(k, spec.replace(write=NoiseModel()), dynamic=True,
                    transform=ClipFormerTransform(2, 0.25, granularity="cell"))
    assert cells.G_us.max() <= 0.25 * spec.g_max_us
    with pytest.raises(ValueError, match="differential"):
        program(k, spec.replace(signed_weights="offset"), dynamic=True, transform=ClipFormerTransform(2, 0.25))


def test_dynamic_matmul_seeds_and_exactness(rng):
    spec = IDEAL.replace(write=NoiseModel(kind="txsim", sigma=0.05, gamma=3), read_sigma=0.02)
    a, b = rng.normal(size=(2, 6, 20)), rng.normal(size=(2, 20, 5))
    y1 = dynamic_matmul(a, b, spec, seed=3)
    np.testing.assert_array_equal(y1, dynamic_matmul(a, b, spec, seed=3))
    assert not np.array_equal(y1, dynamic_matmul(a, b, spec, seed=4))
    clean = dynamic_matmul(a, b, IDEAL, seed=3)
    for i in range(2):
        exact, scale = integer_product(a[i], b[i], IDEAL)
        np.testing.assert_allclose(clean[i] / scale, exact, atol=1e-9 * np.abs(exact).max())


def test_conv_row_groups():
    """3 channels x 4 positions (row = c * 4 + pos), 2 channels per crossbar: by position -> 8
    crossbars in 8 groups; PE sharing of 2 positions -> 4 groups of 2 crossbars."""
    spec = CrossbarSpec(rows=2, adc_sharing="pe", pe_crossbars=2)
    g = conv_row_groups(3, 4, spec.replace(adc_sharing="crossbar"))
    assert len(g) == 8 and [list(x) for x in g[0]] == [[0, 4]] and [list(x) for x in g[4]] == [[8]]
    g = conv_row_groups(3, 4, spec)
    assert len(g) == 4 and [list(x) for x in g[0]] == [[0, 4], [1, 5]]
    assert conv_row_groups(3, 4, spec.replace(conv_mapping="unrolled"))[1][0].tolist() == [2, 3]


def test_pe_sharing_sums_positions_before_the_adc(rng):
    """Summing 4 positions on shared bit lines quadruples the rows per conversion: a fixed 3-bit
    ADC then loses more than with one conversion per crossbar."""
    W, x = rng.normal(size=(12, 4)), rng.normal(size=(5, 12))
    spec = IDEAL.replace(rows=3, ideal_adc=False, adc_bits=3, pe_crossbars=4)
    exact, scale = integer_product(x, W, spec)
    err = {}
    for sharing in ("crossbar", "pe"):
        s = spec.replace(adc_sharing=sharing)
        y = matmul(x, program(W, s, row_groups=conv_row_groups(3, 4, s))) / scale
        err[sharing] = np.abs(y - exact).mean()
    assert err["pe"] > err["crossbar"] > 0


def test_ir_drop_in_the_engine_matches_a_dense_circuit_solve(rng):
    """One 8x8 crossbar, 1-bit inputs, one slice, ideal ADC: the engine's output with wire
    resistance equals the column currents of the dense nodal solve, converted to levels and
    shifted back (offset removed)."""
    ir = IrDrop(enabled=True, r_wire_row_ohm=40.0, r_wire_col_ohm=60.0, v_read=0.2, tolerance=1e-13)
    spec = CrossbarSpec(rows=8, cols=8, bits_per_cell=2, weight_bits=2, input_bits=1, ideal_adc=True,
                        g_min_us=5.0, g_max_us=100.0, ir_drop=ir)
    W = rng.integers(-1, 2, (8, 6)).astype(float)
    x = rng.integers(0, 2, (4, 8)).astype(float)
    arr = program(W, spec)
    y = matmul(x, arr)
    cur = ir_drop_dense(arr.G_us * 1e-6, x[:, arr.perm] * 0.2, 40.0, 60.0)
    levels = cur / (0.2 * spec.level_us * 1e-6) - spec.g_min_us / spec.level_us * x.sum(axis=1)[:, None]
    expected = (levels - 2 * x.sum(axis=1)[:, None]) * arr.w_scale        # offset 2 of 2-bit weights
    np.testing.assert_allclose(y, expected, rtol=1e-9)
    ideal = matmul(x, program(W, spec.replace(ir_drop=IrDrop())))
    assert np.abs(y - ideal).max() > 0.01 * np.abs(ideal).max()          # the drop is visible


def test_tags_override_spec():
    spec = CrossbarSpec(write=NoiseModel(kind="txsim", sigma=0.05, gamma=3))
    s = spec.for_tags({"noise.write_gamma": 5, "noise.read_sigma": 0.1, "imc.input_bits": 4, "encoder": 2})
    assert (s.write.gamma, s.write.sigma, s.read_sigma, s.input_bits) == (5, 0.05, 0.1, 4)
    assert spec.for_tags({"encoder": 1}) is spec


@pytest.mark.parametrize("signed_weights", ["offset", "differential"])
@pytest.mark.parametrize("weight_scale", ["tensor", "channel"])
def test_dynamic_matmul_batch_of_signed_and_unsigned_inputs_is_exact(rng, signed_weights, weight_scale):
    """A batch whose inputs are signed for some products and non-negative for others (attention
    probabilities beside queries), each product on its own scales: on ideal crossbars every
    product equals its own integer product (our derivation), and products of any magnitude
    keep their own quantisation."""
    spec = IDEAL.replace(signed_weights=signed_weights, weight_scale=weight_scale)
    a = rng.normal(size=(2, 3, 5, 20)) * np.array([1.0, 100.0, 0.01])[None, :, None, None]
    a[0, 1] = np.abs(a[0, 1])
    a[1, 2] = np.abs(a[1, 2])
    b = rng.normal(size=(2, 3, 20, 7)) * np.array([3.0, 0.02, 1.0])[None, :, None, None]
    y = dynamic_matmul(a, b, spec, seed=5)
    for i in range(2):
        for j in range(3):
            exact, scale = integer_product(a[i, j], b[i, j], spec)
            np.testing.assert_allclose(y[i, j] / scale, exact, atol=1e-9 * np.abs(exact).max())
