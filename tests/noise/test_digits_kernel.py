"""Input digits (archsim/kernels/digits.py): the kernel's planes in the product's layout against the
numpy reference, signed and unsigned, several DAC widths, permuted columns; plane weights
reassemble the values."""
import numpy as np
import pytest

from archsim.kernels.digits import input_digits_reference, input_planes, plane_weights


@pytest.mark.parametrize("bits,dac", [(8, 1), (8, 2), (6, 3), (2, 1), (1, 1), (31, 4)])
@pytest.mark.parametrize("signed", [False, True])
def test_input_planes_match_reference_and_reassemble(rng, bits, dac, signed):
    top = 2 ** (bits - 1) - 1 if signed else 2 ** bits - 1
    xq = rng.integers(-top if signed else 0, top + 1, (3, 5, 11))
    perm = rng.permutation(11)[:9]
    ref = input_planes(xq, perm, bits, signed, dac, backend="reference")
    got = input_planes(xq, perm, bits, signed, dac)
    assert got.dtype == ref.dtype == np.uint8 and got.shape == ref.shape == (3, len(plane_weights(bits, signed, dac)), 5, 9)
    np.testing.assert_array_equal(got, ref)
    back = np.einsum("lprk,p->lrk", got.astype(np.float64), plane_weights(bits, signed, dac))
    np.testing.assert_array_equal(back, xq[..., perm])
    np.testing.assert_array_equal(input_digits_reference(xq[0][:, perm], bits, signed, dac), ref[0])


def test_input_planes_rejects_bad_shapes():
    with pytest.raises(ValueError, match="operands, rows, columns"):
        input_planes(np.zeros((4, 5)), np.arange(5), 8, False, 1)
