"""The IR-drop relaxation solve against a dense nodal solve of the full resistor network."""
import numpy as np
import pytest

from archsim.noise.ir_drop import ir_drop_currents, ir_drop_dense


@pytest.mark.parametrize("R,C,r_row,r_col", [(1, 1, 10.0, 10.0), (4, 3, 50.0, 20.0), (8, 6, 20.0, 40.0),
                                             (16, 16, 5.0, 5.0), (12, 5, 100.0, 1.0)])
@pytest.mark.parametrize("backend", ["numba", "reference"])
def test_relaxation_equals_dense_solve(rng, R, C, r_row, r_col, backend):
    """Conductances 1-100 uS, 0.2 V inputs: the currents agree to 1e-10 relative while the IR
    drop itself moves them by percents."""
    G = rng.uniform(1e-6, 1e-4, (R, C))
    V = rng.integers(0, 2, (6, R)) * 0.2
    V[0] = 0.2                                     # at least one vector with every row driven
    dense = ir_drop_dense(G, V, r_row, r_col)
    cur, _ = ir_drop_currents(G, V, r_row, r_col, tol=1e-13, backend=backend)
    np.testing.assert_allclose(cur, dense, rtol=1e-10, atol=1e-18)
    if R * C > 1:
        ideal = V @ G
        assert np.abs(ideal - dense).max() > 1e-3 * np.abs(ideal).max()


def test_dense_solve_without_wires_matches_ohm(rng):
    """Tiny wires: the dense solve approaches the ideal V @ G."""
    G = rng.uniform(1e-6, 1e-4, (5, 4))
    V = rng.uniform(0, 0.2, (3, 5))
    np.testing.assert_allclose(ir_drop_dense(G, V, 1e-6, 1e-6), V @ G, rtol=1e-6)


def test_under_relaxation_converges_where_plain_iteration_does_not(rng):
    """Strong parasitics (r G N large): gamma = 1 diverges, gamma = 0.3 converges to the dense
    solution (CrossSim's relaxation factor)."""
    G = rng.uniform(5e-4, 1e-3, (16, 16))
    V = np.full((1, 16), 0.2)
    dense = ir_drop_dense(G, V, 30.0, 30.0)
    cur, it = ir_drop_currents(G, V, 30.0, 30.0, gamma=0.3, tol=1e-12, max_iter=20000)
    np.testing.assert_allclose(cur, dense, rtol=1e-8)
    bad, it1 = ir_drop_currents(G, V, 30.0, 30.0, gamma=1.0, tol=1e-12, max_iter=200)
    assert it1 == 200 and not np.allclose(bad, dense, rtol=1e-3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="need r_row, r_col >= 0"):
        ir_drop_currents(np.ones((2, 2)), np.ones((1, 2)), -1.0, 1.0)
    with pytest.raises(ValueError, match=r"need \(R, C\) and \(B, R\)"):
        ir_drop_currents(np.ones((2, 2)), np.ones((1, 3)), 1.0, 1.0)
    with pytest.raises(ValueError, match="r_row > 0"):
        ir_drop_dense(np.ones((2, 2)), np.ones((1, 2)), 0.0, 1.0)
