import numpy as np
import pytest

from archsim.trace.im2col import im2col
from archsim.trace.schema import Conv2d


def direct_conv(x, w, conv):
    """Naive convolution, the independent reference."""
    B, C, H, W = x.shape
    K = w.shape[0]
    g = conv.groups
    xp = np.pad(x, ((0, 0), (0, 0), (conv.pad_h,) * 2, (conv.pad_w,) * 2))
    out = np.zeros((B, K, conv.out_h, conv.out_w))
    for b in range(B):
        for k in range(K):
            grp = k // (K // g)
            cs = slice(grp * (C // g), (grp + 1) * (C // g))
            for oh in range(conv.out_h):
                for ow in range(conv.out_w):
                    h0, w0 = oh * conv.stride_h, ow * conv.stride_w
                    win = xp[b, cs, h0:h0 + conv.dilation_h * (conv.kernel_h - 1) + 1:conv.dilation_h,
                             w0:w0 + conv.dilation_w * (conv.kernel_w - 1) + 1:conv.dilation_w]
                    out[b, k, oh, ow] = (win * w[k]).sum()
    return out


@pytest.mark.parametrize("kw", [
    dict(kernel_h=3, kernel_w=3, pad_h=1, pad_w=1),
    dict(kernel_h=3, kernel_w=2, stride_h=2, stride_w=1),
    dict(kernel_h=1, kernel_w=1, stride_h=2, stride_w=2),
    dict(kernel_h=3, kernel_w=3, dilation_h=2, dilation_w=2, pad_h=2, pad_w=2),
    dict(kernel_h=3, kernel_w=3, pad_h=1, pad_w=1, groups=2),
])
def test_im2col_gemm_equals_direct_conv(rng, kw):
    conv = Conv2d(id="c", batch=2, in_channels=4, out_channels=6, in_h=7, in_w=6, **kw)
    x = rng.integers(0, 3, (2, 4, 7, 6))
    w = rng.integers(-2, 3, (6, 4 // conv.groups, conv.kernel_h, conv.kernel_w))
    cols = im2col(x, conv)
    g, M, K = cols.shape
    assert (g, M, K) == (conv.gemm.groups, conv.gemm.M, conv.gemm.K)
    wg = w.reshape(g, 6 // g, K)
    gemm = np.concatenate([cols[i] @ wg[i].T for i in range(g)], axis=1)
    out = gemm.reshape(2, conv.out_h, conv.out_w, 6).transpose(0, 3, 1, 2)
    assert np.array_equal(out, direct_conv(x, w, conv))


@pytest.mark.parametrize("size, kernel, stride, pad, dilation", [
    (7, 3, 1, 0, 1), (7, 3, 2, 1, 1), (8, 3, 3, 0, 1), (9, 3, 1, 2, 2), (5, 5, 1, 0, 1), (4, 2, 2, 0, 1)])
def test_window_out_counts_the_windows(size, kernel, stride, pad, dilation):
    """Against an independent count: the start positions whose (dilated) window fits the padded axis."""
    from archsim.trace.schema import window_out
    span = dilation * (kernel - 1) + 1
    starts = [s for s in range(0, size + 2 * pad, stride) if s + span <= size + 2 * pad]
    assert window_out(size, kernel, stride, pad, dilation) == len(starts)
