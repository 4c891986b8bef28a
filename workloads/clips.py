"""Short video clips made from real Fashion-MNIST images moving across a larger frame: **real
images, synthetic motion** (there is no video data set that installs offline). The ReSpike
frontend trains and runs on them.

Clip ``i`` puts image ``i`` (28x28) on a ``canvas x canvas`` black frame and moves it in a straight
line: a start position and a velocity (whole pixels per frame, each axis in ``[-max_speed,
max_speed]``, not both zero) drawn from a generator seeded by ``seed`` and ``i``; it bounces off the
frame's edges. The label is the image's class. The data set loader
(:func:`workloads.data.load_fashion_mnist_clips`, ``fashion-mnist-clips``) applies it to the images.
"""
from __future__ import annotations

import numpy as np

IMAGE = 28


def _positions(start: int, velocity: int, frames: int, span: int) -> np.ndarray:
    """Positions 0..span of a point moving at ``velocity`` and bouncing off 0 and ``span``."""
    if span == 0:
        return np.zeros(frames, dtype=np.int64)
    raw = start + velocity * np.arange(frames)
    period = 2 * span
    m = np.mod(raw, period)
    return np.where(m <= span, m, period - m)


def moving_clips(images: np.ndarray, *, frames: int = 4, canvas: int = 40, max_speed: int = 3,
                 seed: int = 0) -> np.ndarray:
    """``images [N, 28, 28]`` in [0, 1] -> clips ``[N, frames, 1, canvas, canvas]`` float32."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (IMAGE, IMAGE):
        raise ValueError(f"moving_clips expects images [N, 28, 28], got {images.shape}")
    if canvas < IMAGE or frames < 1 or max_speed < 1:
        raise ValueError(f"need canvas >= 28, frames >= 1, max_speed >= 1 (got {canvas}, {frames}, {max_speed})")
    span = canvas - IMAGE
    out = np.zeros((len(images), frames, 1, canvas, canvas), dtype=np.float32)
    for i, img in enumerate(images):
        rng = np.random.default_rng([seed, i])
        y0, x0 = rng.integers(0, span + 1, size=2)
        while True:
            vy, vx = rng.integers(-max_speed, max_speed + 1, size=2)
            if vy or vx:
                break
        ys, xs = _positions(int(y0), int(vy), frames, span), _positions(int(x0), int(vx), frames, span)
        for f in range(frames):
            out[i, f, 0, ys[f]:ys[f] + IMAGE, xs[f]:xs[f] + IMAGE] = img
    return out
