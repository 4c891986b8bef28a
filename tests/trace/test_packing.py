import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from archsim.trace.packing import pack_mask, pack_spikes, spike_counts, unpack_mask, unpack_spikes, word_dtype


@settings(max_examples=60, deadline=None)
@given(T=st.integers(1, 64), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=7), seed=st.integers(0, 2**31))
def test_pack_unpack_roundtrip(T, shape, seed):
    spikes = (np.random.default_rng(seed).random((T, *shape)) < 0.3).astype(np.uint8)
    words = pack_spikes(spikes)
    assert words.shape == shape and words.dtype == word_dtype(T)
    assert np.array_equal(unpack_spikes(words, T), spikes)
    assert np.array_equal(spike_counts(words), spikes.sum(axis=0))


def test_bit_t_is_timestep_t():
    # the LoAS Fig. 8 example: fires at t0 and t2 -> 0b0101 (bit 0 = t0); t1..t3 -> 0b1110
    spikes = np.array([[1, 0], [0, 1], [1, 1], [0, 1]], dtype=np.uint8)
    assert pack_spikes(spikes).tolist() == [0b0101, 0b1110]


@pytest.mark.parametrize("T,dtype", [(1, np.uint8), (8, np.uint8), (9, np.uint16), (32, np.uint32), (33, np.uint64)])
def test_word_size(T, dtype):
    assert word_dtype(T) == dtype


def test_rejects_non_binary_and_too_many_timesteps():
    with pytest.raises(ValueError, match="only 0 and 1"):
        pack_spikes(np.array([[2]]))
    with pytest.raises(ValueError, match="at most 64"):
        word_dtype(65)


def test_mask_roundtrip(rng):
    mask = rng.random((5, 3, 7)) < 0.4
    assert np.array_equal(unpack_mask(pack_mask(mask), mask.shape), mask)
