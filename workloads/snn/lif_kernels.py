"""Fused LIF forward and backward passes over T timesteps, for CPU training.

Per neuron, one pass over t does what the step-by-step autograd graph does in a dozen small
tensor kernels (which took more CPU time than the convolutions of the LoAS models). Each Numba
kernel sits beside its plain-numpy reference (the specification), as in ``archsim.kernels``.

Equations (``keep`` = 1 - 1/tau, ``in_scale`` = 1/tau with decay_input else 1, ``v_rest`` =
v_reset, or 0 for a soft reset):

    H[t] = keep * V[t-1] + in_scale * X[t] + (1 - keep) * v_rest,    V[-1] = v_rest
    S[t] = H[t] >= v_th
    V[t] = v_reset if S[t] else H[t]          (hard)      V[t] = H[t] - v_th * S[t]   (soft)

Backward with the arctangent surrogate sg(h) = alpha/2 / (1 + (pi/2 * alpha * (h - v_th))^2):

    dL/dH[t] = dL/dS[t] * sg(H[t]) + dL/dV[t] * dV[t]/dH[t]
    dV/dH    = 1 - S (hard, detached reset)  |  1 - S + (v_reset - H) * sg (hard, attached)
               1 (soft, detached)            |  1 - v_th * sg (soft, attached)
    dL/dX[t] = in_scale * dL/dH[t];   dL/dV[t-1] = keep * dL/dH[t]
"""
from __future__ import annotations

import math

import numba
import numpy as np

from archsim.kernels._jit import check_backend, kernel


def lif_forward_reference(x, keep, in_scale, v_th, v_reset, soft):
    """``x`` [T, N] -> (H [T, N], S [T, N]) in the dtype of x."""
    v_rest = 0.0 if soft else v_reset
    h_all = np.empty_like(x)
    s_all = np.empty_like(x)
    v = np.full(x.shape[1], v_rest, dtype=x.dtype)
    for t in range(x.shape[0]):
        h = keep * v + in_scale * x[t] + (1.0 - keep) * v_rest
        s = (h >= v_th).astype(x.dtype)
        v = h - v_th * s if soft else np.where(s > 0, v_reset, h)
        h_all[t], s_all[t] = h, s
    return h_all, s_all


@kernel(reference=lif_forward_reference, parallel=False)
def _lif_forward_kernel(x, keep, in_scale, v_th, v_reset, soft):

    T, N = x.shape
    v_rest = 0.0 if soft else v_reset
    h_all = np.empty_like(x)
    s_all = np.empty_like(x)
    for n in numba.prange(N):
        v = v_rest
        for t in range(T):
            h = keep * v + in_scale * x[t, n] + (1.0 - keep) * v_rest
            s = 1.0 if h >= v_th else 0.0
            if soft:
                v = h - v_th * s
            else:
                v = v_reset if s > 0 else h
            h_all[t, n] = h
            s_all[t, n] = s
    return h_all, s_all


def lif_backward_reference(grad_s, h_all, s_all, keep, in_scale, v_th, v_reset, soft, alpha,
                           detach_reset):
    """dL/dX [T, N] from dL/dS, the saved H and S."""
    grad_x = np.empty_like(h_all)
    grad_v = np.zeros(h_all.shape[1], dtype=h_all.dtype)
    for t in range(h_all.shape[0] - 1, -1, -1):
        h, s = h_all[t], s_all[t]
        sg = (alpha / 2) / (1 + (math.pi / 2 * alpha * (h - v_th)) ** 2)
        if soft:
            dvdh = np.ones_like(h) if detach_reset else 1.0 - v_th * sg
        else:
            dvdh = 1.0 - s if detach_reset else 1.0 - s + (v_reset - h) * sg
        gh = grad_s[t] * sg + grad_v * dvdh
        grad_x[t] = in_scale * gh
        grad_v = keep * gh
    return grad_x


@kernel(reference=lif_backward_reference, parallel=False)
def _lif_backward_kernel(grad_s, h_all, s_all, keep, in_scale, v_th, v_reset, soft, alpha,
                         detach_reset):

    T, N = h_all.shape
    grad_x = np.empty_like(h_all)
    c = math.pi / 2 * alpha
    for n in numba.prange(N):
        gv = 0.0
        for t in range(T - 1, -1, -1):
            h = h_all[t, n]
            s = s_all[t, n]
            d = c * (h - v_th)
            sg = (alpha / 2) / (1 + d * d)
            if soft:
                dvdh = 1.0 if detach_reset else 1.0 - v_th * sg
            else:
                dvdh = 1.0 - s if detach_reset else 1.0 - s + (v_reset - h) * sg
            gh = grad_s[t, n] * sg + gv * dvdh
            grad_x[t, n] = in_scale * gh
            gv = keep * gh
    return grad_x


def lif_forward(x, keep, in_scale, v_th, v_reset, soft, backend="numba"):
    fn = _lif_forward_kernel if check_backend(backend) == "numba" else lif_forward_reference
    return fn(np.ascontiguousarray(x), float(keep), float(in_scale), float(v_th), float(v_reset),
              bool(soft))


def lif_backward(grad_s, h_all, s_all, keep, in_scale, v_th, v_reset, soft, alpha, detach_reset,
                 backend="numba"):
    fn = _lif_backward_kernel if check_backend(backend) == "numba" else lif_backward_reference
    return fn(np.ascontiguousarray(grad_s, dtype=h_all.dtype), h_all, s_all, float(keep),
              float(in_scale), float(v_th), float(v_reset), bool(soft), float(alpha),
              bool(detach_reset))
