"""Real image data that installs without the internet.

* **Fashion-MNIST**: the original IDX files from Debian's ``dataset-fashion-mnist`` package
  (``./setup.sh`` installs it; without root it unpacks the .deb into ``data/``). 60k train / 10k
  test 28x28 grey images of 10 clothing classes.
* **digits**: scikit-learn's bundled 1,797 8x8 handwritten digits, the tiny fallback for tests.

Images come back as float32 in [0, 1], shape ``[N, channels, size, size]``: Fashion-MNIST is
zero-padded from 28 to ``size`` (32 by default, the CIFAR size of the papers' models) and repeated
over ``channels``; digits are upsampled by pixel repetition.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

SEARCH_DIRS = (
    os.environ.get("ARCHSIM_FASHION_MNIST_DIR", ""),
    str(Path(__file__).resolve().parents[1] / "data" / "usr" / "share" / "datasets" / "fashion-mnist"),
    "/usr/share/datasets/fashion-mnist",
)
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


class DatasetUnavailable(RuntimeError):
    """The data set is not installed; the message says how to get it."""


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic 0x0000 | dtype code | ndim, then big-endian
    uint32 dimensions, then the data."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX data type 0x{raw[2]:02x}")
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4).astype(int)
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: truncated IDX file ({data.size} values, header says {int(np.prod(dims))})")
    return data.reshape(dims)


def fashion_mnist_dir() -> Path:
    for d in SEARCH_DIRS:
        if d and all((Path(d) / f).exists() for f in FILES["test"]):
            return Path(d)
    raise DatasetUnavailable(
        "Fashion-MNIST not found (looked in " + ", ".join(d for d in SEARCH_DIRS if d) +
        "): run ./setup.sh, or `apt-get install dataset-fashion-mnist`, or set ARCHSIM_FASHION_MNIST_DIR")


def _shape(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    n, h, w = images.shape
    if size < h:
        raise ValueError(f"size {size} is smaller than the images ({h}x{w})")
    if size % h == 0 and size // h > 1:      # small images: repeat pixels
        f = size // h
        images = images.repeat(f, axis=1).repeat(f, axis=2)
    else:                                     # zero-pad to size, centred
        top, left = (size - h) // 2, (size - w) // 2
        out = np.zeros((n, size, size), dtype=images.dtype)
        out[:, top:top + h, left:left + w] = images
        images = out
    return np.repeat(images[:, None], channels, axis=1)


def load_fashion_mnist(split: str = "train", *, size: int = 32, channels: int = 3,
                       limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, channels, size, size]`` float32 in [0, 1] and labels int64."""
    if split not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    d = fashion_mnist_dir()
    images = read_idx(d / FILES[split][0])
    labels = read_idx(d / FILES[split][1]).astype(np.int64)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return _shape(images.astype(np.float32) / 255.0, size, channels), labels


def load_digits(split: str = "train", *, size: int = 8, channels: int = 1, test_fraction: float = 0.25,
                limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (values 0..16 scaled to [0, 1]); a fixed split: the last
    ``test_fraction`` of the samples are the test set."""
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    images = (bunch.images / 16.0).astype(np.float32)
    labels = bunch.target.astype(np.int64)
    cut = int(round(len(labels) * (1 - test_fraction)))
    images, labels = (images[:cut], labels[:cut]) if split == "train" else (images[cut:], labels[cut:])
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return _shape(images, size, channels), labels


def load_fashion_mnist_clips(split: str = "train", *, limit: int | None = None, frames: int = 4, canvas: int = 40,
                             max_speed: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Clips (:func:`workloads.clips.moving_clips`) of the first ``limit`` Fashion-MNIST images of
    ``split`` and their labels."""
    from workloads.clips import IMAGE, moving_clips

    x, y = load_fashion_mnist(split, size=IMAGE, channels=1, limit=limit)
    return moving_clips(x[:, 0], frames=frames, canvas=canvas, max_speed=max_speed,
                        seed=seed + (0 if split == "train" else 1_000_003)), y


def load(name: str, split: str = "train", **kw) -> tuple[np.ndarray, np.ndarray]:
    """``name``: ``fashion-mnist``, ``digits`` or ``fashion-mnist-clips`` (4-frame clips of moving
    Fashion-MNIST images, ``size`` the frame side: :mod:`workloads.clips`)."""
    if name == "fashion-mnist":
        return load_fashion_mnist(split, **kw)
    if name == "digits":
        return load_digits(split, **kw)
    if name == "fashion-mnist-clips":
        if kw.get("channels", 1) != 1:
            raise ValueError("fashion-mnist-clips are grey: channels must be 1")
        return load_fashion_mnist_clips(split, limit=kw.get("limit"), frames=4, canvas=kw.get("size", 40))
    raise ValueError(f"unknown dataset {name!r}; known: fashion-mnist, digits, fashion-mnist-clips")
