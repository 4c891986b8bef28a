import gzip
import struct

import numpy as np
import pytest

from workloads.data import _shape, load_digits, read_idx


def write_idx(path, array):
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_read_idx_roundtrip(tmp_path, rng):
    a = rng.integers(0, 256, (5, 28, 28))
    write_idx(tmp_path / "x.gz", a)
    assert np.array_equal(read_idx(tmp_path / "x.gz"), a)


def test_read_idx_rejects_truncated(tmp_path):
    with gzip.open(tmp_path / "t.gz", "wb") as f:
        f.write(struct.pack(">BBBBIII", 0, 0, 8, 3, 2, 28, 28) + b"\0" * 100)
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "t.gz")


def test_padding_and_channels():
    img = np.ones((2, 28, 28), dtype=np.float32)
    out = _shape(img, 32, 3)
    assert out.shape == (2, 3, 32, 32)
    assert out[:, :, :2].sum() == 0 and out[:, :, 2:30, 2:30].min() == 1


def test_digits():
    x, y = load_digits("test", size=16, channels=3)
    assert x.shape[1:] == (3, 16, 16) and len(x) == len(y) == 449
    assert 0 <= x.min() and x.max() <= 1 and set(np.unique(y)) == set(range(10))
