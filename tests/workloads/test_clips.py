"""Moving Fashion-MNIST clips: the image moves as its velocity says, bounces, and is unchanged."""
import numpy as np
import pytest

from workloads.clips import _positions, moving_clips


def test_positions_bounce():
    """From 10 at +4 in [0, 12]: unfolded 10, 14, 18, 22, 26; folded into [0, 12] with period 24:
    10, 24 - 14 = 10, 24 - 18 = 6, 24 - 22 = 2, 26 - 24 = 2."""
    assert list(_positions(10, 4, 5, 12)) == [10, 10, 6, 2, 2]


def test_each_frame_holds_the_image_shifted(rng):
    imgs = rng.random((3, 28, 28)).astype(np.float32)
    clips = moving_clips(imgs, frames=6, canvas=40, max_speed=3, seed=5)
    assert clips.shape == (3, 6, 1, 40, 40)
    for i in range(3):
        moves = []
        for f in range(6):
            ys, xs = np.nonzero(clips[i, f, 0])
            y, x = ys.min(), xs.min()      # random images have no zero rows at the border (almost surely)
            assert np.array_equal(clips[i, f, 0, y:y + 28, x:x + 28], imgs[i])
            assert clips[i, f].sum() == pytest.approx(imgs[i].sum(), rel=1e-5)   # nothing else drawn
            moves.append((y, x))
        assert len(set(moves)) > 1        # it moves
    again = moving_clips(imgs, frames=6, canvas=40, max_speed=3, seed=5)
    assert np.array_equal(clips, again)   # seeded


def test_bad_input():
    with pytest.raises(ValueError, match=r"\[N, 28, 28\]"):
        moving_clips(np.zeros((2, 32, 32)))
    with pytest.raises(ValueError, match="canvas >= 28"):
        moving_clips(np.zeros((2, 28, 28)), canvas=20)


def test_real_fashion_mnist_clips():
    from workloads.data import load, load_fashion_mnist_clips

    x, y = load_fashion_mnist_clips("test", limit=4, frames=4)
    assert x.shape == (4, 4, 1, 40, 40) and list(y) == [9, 2, 1, 1]   # the first Fashion-MNIST test labels
    x2, y2 = load("fashion-mnist-clips", "test", limit=4, size=40)      # the data set name the trainer uses
    assert np.array_equal(x2, x) and np.array_equal(y2, y)
