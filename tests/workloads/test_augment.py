"""Crop-and-flip augmentation (workloads.augment): checked against a per-image loop (our own
derivation of what the batched indexing must do) and for its invariants."""
import numpy as np
import pytest
import torch

from workloads.augment import augment, crop_flip


def _reference(x, shifts, flips, pad):
    out = []
    for img, dy, dx, f in zip(x.numpy(), shifts[0], shifts[1], flips):
        p = np.pad(img, ((0, 0), (pad, pad), (pad, pad)))
        w = p[:, dy:dy + img.shape[1], :]
        w = w[:, :, ::-1] if f else w
        # a flipped image is cut from the flipped padded image: columns dx.. of the mirror
        w = w[:, :, (p.shape[2] - img.shape[2] - dx):][:, :, :img.shape[2]] if f else w[:, :, dx:dx + img.shape[2]]
        out.append(w)
    return np.stack(out)


def test_matches_a_per_image_loop():
    x = torch.rand(16, 3, 9, 7)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    got = crop_flip(x, g1, pad=2)
    shifts = torch.randint(0, 5, (2, 16), generator=g2).numpy()
    flips = (torch.rand(16, generator=g2) < 0.5).numpy()
    assert 0 < flips.sum() < 16
    np.testing.assert_array_equal(got.numpy(), _reference(x, shifts, flips, 2))


def test_same_seed_same_batch_and_values_preserved():
    x = torch.rand(32, 1, 8, 8)
    a = crop_flip(x, torch.Generator().manual_seed(1))
    b = crop_flip(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and a.shape == x.shape
    assert not torch.equal(a, x)
    # every output pixel is an input pixel of the same image or padding (zero)
    for i in range(32):
        assert set(a[i].flatten().tolist()) <= set(x[i].flatten().tolist()) | {0.0}


def test_none_is_identity_and_unknown_is_refused():
    x = torch.rand(2, 1, 4, 4)
    assert augment("none", x, torch.Generator()) is x
    with pytest.raises(ValueError, match="augment"):
        augment("mixup", x, torch.Generator())
