"""The vectorised exp of the kernels against numpy's exp (its reference): the polynomial range, the
range limits, and the elements it hands to ``math.exp`` (subnormal results, underflow, overflow,
infinities, NaN)."""
import math

import numpy as np
import pytest

from archsim.kernels.drift import drift
from archsim.kernels.vexp import EXP_HI, EXP_LO, exp_array, exp_array_reference


def _both(x):
    a, b = np.empty(x.size), np.empty(x.size)
    exp_array_reference(x, a, None)
    exp_array(x, b, np.empty(x.size, dtype=np.int64))
    return a, b


@pytest.mark.parametrize("lo, hi", [(-1e-3, 1e-3), (-1.0, 1.0), (-30.0, 0.0), (EXP_LO, EXP_HI)])
def test_exp_matches_numpy_in_the_polynomial_range(rng, lo, hi):
    x = rng.uniform(lo, hi, 20011)                      # odd length: the loops' scalar remainders
    x[:4] = [lo, hi, 0.0, -0.0]
    a, b = _both(x)
    np.testing.assert_allclose(b, a, rtol=4e-16, atol=0)   # a few units in the last place


def test_exp_outside_the_range_is_numpys():
    x = np.array([-709.5, -720.0, -745.2, -746.0, -1e300, 709.9, 710.0, 1e300, -np.inf, np.inf, np.nan, 1.0])
    with np.errstate(over="ignore"):
        a, b = _both(x)
    np.testing.assert_array_equal(b[:-1], a[:-1])       # subnormals, 0, inf and NaN exactly as numpy
    np.testing.assert_allclose(b[-1], a[-1], rtol=4e-16)   # beside them, the polynomial
    assert b[3] == 0.0 and b[5] > 1e308 and math.isinf(b[6]) and math.isnan(b[10])


def test_drift_to_zero_conductance():
    """Exponents below EXP_LO (nu log_ratio > 708) take the math.exp path inside the drift kernel."""
    G = np.full(3000, 10.0)
    coef = ((0.0, 80.0, -math.inf, math.inf), (0.0, 30.0, -math.inf, math.inf))
    ref = drift(G, G, 25.0, *coef, 10.0, 3, backend="reference")
    out = drift(G, G, 25.0, *coef, 10.0, 3)
    assert np.sum(ref == 0.0) > 100 and np.sum(ref > 0.0) > 100        # both paths taken
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=0)
