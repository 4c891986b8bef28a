"""im2col: the GEMM view of a convolution's input.

Row m of the result is output position m (batch-major, then out_h, out_w); column k runs over
(in_channel, kernel_h, kernel_w) in that order, matching a weight reshaped to
``[out_channels, in_channels * kernel_h * kernel_w]``. Padding contributes zeros. Works on any
per-neuron array: spike counts, packed spike words (``pack_spikes``), or values.
"""
from __future__ import annotations

import numpy as np


def im2col(x: np.ndarray, conv) -> np.ndarray:
    """``x`` of shape ``[batch, in_channels, in_h, in_w]`` -> ``[groups, M, K]`` for a Conv2d op
    ``conv`` (M = batch*out_h*out_w, K = in_channels/groups*kernel_h*kernel_w)."""
    B, C, H, W = x.shape
    if (B, C, H, W) != (conv.batch, conv.in_channels, conv.in_h, conv.in_w):
        raise ValueError(f"input shape {list(x.shape)} does not match conv {conv.id} "
                         f"[{conv.batch}, {conv.in_channels}, {conv.in_h}, {conv.in_w}]")
    ph, pw = conv.pad_h, conv.pad_w
    padded = np.zeros((B, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    padded[:, :, ph:ph + H, pw:pw + W] = x
    oh, ow = conv.out_h, conv.out_w
    cols = np.empty((B, oh, ow, C, conv.kernel_h, conv.kernel_w), dtype=x.dtype)
    for i in range(conv.kernel_h):
        hi = i * conv.dilation_h
        for j in range(conv.kernel_w):
            wj = j * conv.dilation_w
            patch = padded[:, :, hi:hi + conv.stride_h * (oh - 1) + 1:conv.stride_h,
                           wj:wj + conv.stride_w * (ow - 1) + 1:conv.stride_w]
            cols[:, :, :, :, i, j] = patch.transpose(0, 2, 3, 1)
    g = conv.groups
    cpg = C // g
    cols = cols.reshape(B * oh * ow, g, cpg * conv.kernel_h * conv.kernel_w)
    return np.ascontiguousarray(cols.transpose(1, 0, 2))
