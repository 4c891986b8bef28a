"""Leaky integrate-and-fire neurons with a surrogate gradient, in multi-step form.

The networks of this toolkit carry the timestep axis folded into the batch axis: a tensor of
``[T*B, ...]`` holds timestep 0 of the B samples, then timestep 1, and so on. Convolutions, batch
norm and pooling are stateless, so they run once over all T*B samples (one large batch instead
of T small ones, which is what makes CPU training affordable); only the neuron loops over t.

Dynamics (the spikingjelly ``LIFNode`` convention the LoAS models use, written from its
equations; with ``tau = 4/3`` the membrane keeps 1 - 1/tau = 0.25 of its value per step):

    H[t] = V[t-1] + (X[t] - (V[t-1] - v_reset)) / tau     (decay_input, hard reset)
    H[t] = V[t-1] - (V[t-1] - v_reset) / tau + X[t]       (not decay_input)
    S[t] = 1 if H[t] >= v_threshold else 0
    V[t] = H[t] * (1 - S[t]) + v_reset * S[t]             (hard reset)
    V[t] = H[t] - v_threshold * S[t]                      (soft reset: v_reset is None)

with V[-1] = v_reset (0 for a soft reset). In the backward pass the step function's derivative is
replaced by the arctangent surrogate ``alpha / 2 / (1 + (pi/2 * alpha * x)^2)``; with
``detach_reset`` the reset term carries no gradient.

``drop_single_spike`` is LoAS's "strong" mode: after all T steps, the outputs of neurons that
fired exactly once are zeroed, at every timestep (those neurons count as silent).
"""
from __future__ import annotations

import math

import torch
from torch import nn


class ATanSpike(torch.autograd.Function):
    """Heaviside step forward (x >= 0 spikes), arctangent surrogate derivative backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        return grad_out * (a / 2) / (1 + (math.pi / 2 * a * x) ** 2), None


def atan_spike(x: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    return ATanSpike.apply(x, alpha)


class LIF(nn.Module):
    """Multi-step LIF neuron. Input ``[T*B, ...]`` (timestep-major) of currents, output spikes of
    the same shape. ``timesteps`` is set by the network (:func:`set_timesteps`)."""

    is_spiking = True   # the capture recognises our spiking modules by this flag (workloads.capture.neurons)

    def __init__(self, tau: float = 4.0 / 3.0, v_threshold: float = 1.0, v_reset: float | None = 0.0,
                 decay_input: bool = True, alpha: float = 2.0, detach_reset: bool = True,
                 timesteps: int = 4, drop_single_spike: bool = False):
        super().__init__()
        if tau < 1.0:
            raise ValueError(f"tau must be >= 1 (got {tau}): the membrane keeps 1 - 1/tau per step")
        if timesteps < 1:
            raise ValueError(f"timesteps must be >= 1, got {timesteps}")
        self.tau = float(tau)
        self.v_threshold = float(v_threshold)
        self.v_reset = None if v_reset is None else float(v_reset)
        self.decay_input = decay_input
        self.alpha = float(alpha)
        self.detach_reset = detach_reset
        self.timesteps = int(timesteps)
        self.drop_single_spike = drop_single_spike

    @property
    def leak(self) -> float:
        """Fraction of the membrane kept from one step to the next (1 - 1/tau)."""
        return 1.0 - 1.0 / self.tau

    @property
    def reset(self) -> str:
        return "soft" if self.v_reset is None else "hard"

    def extra_repr(self) -> str:
        return (f"tau={self.tau:.4g}, v_threshold={self.v_threshold:g}, v_reset={self.v_reset}, "
                f"T={self.timesteps}, drop_single_spike={self.drop_single_spike}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = self.timesteps
        if x.shape[0] % T:
            raise ValueError(f"LIF input has {x.shape[0]} rows, not a multiple of T={T}")
        seq = x.view(T, x.shape[0] // T, *x.shape[1:])
        spikes = lif_sequence(seq, self)
        if self.drop_single_spike:
            keep = (spikes.detach().sum(dim=0) != 1).to(spikes.dtype)
            spikes = spikes * keep
        return spikes.reshape(x.shape)


def lif_sequence(seq: torch.Tensor, p: LIF) -> torch.Tensor:
    """Run the LIF equations over ``seq`` of shape ``[T, ...]``; returns spikes ``[T, ...]``.

    On CPU the forward and backward passes are fused Numba kernels
    (:mod:`workloads.snn.lif_kernels`): the step-by-step autograd graph of
    :func:`lif_sequence_reference` spends more CPU time in small elementwise kernels than the
    convolutions take. Elsewhere (GPU) the reference runs. Both give the same values and
    gradients (tested)."""
    if seq.device.type != "cpu" or seq.dtype not in (torch.float32, torch.float64):
        return lif_sequence_reference(seq, p)
    return _LIFFunction.apply(seq, p)


def lif_sequence_reference(seq: torch.Tensor, p: LIF) -> torch.Tensor:
    """The LIF equations step by step with ordinary autograd: the specification of
    :func:`lif_sequence`."""
    v_rest = 0.0 if p.v_reset is None else p.v_reset
    v = torch.full_like(seq[0], v_rest)
    out = []
    for t in range(seq.shape[0]):
        if p.decay_input:
            h = v + (seq[t] - (v - v_rest)) / p.tau
        else:
            h = v - (v - v_rest) / p.tau + seq[t]
        s = atan_spike(h - p.v_threshold, p.alpha)
        r = s.detach() if p.detach_reset else s
        if p.v_reset is None:
            v = h - p.v_threshold * r
        else:
            v = h * (1 - r) + p.v_reset * r
        out.append(s)
    return torch.stack(out)


class _LIFFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, seq, p: LIF):
        from workloads.snn import lif_kernels as k

        soft = p.v_reset is None
        const = (1.0 - 1.0 / p.tau, 1.0 / p.tau if p.decay_input else 1.0, p.v_threshold,
                 0.0 if soft else p.v_reset, soft)
        x = seq.detach().reshape(seq.shape[0], -1).contiguous().numpy()
        h, s = k.lif_forward(x, *const)
        ctx.const, ctx.alpha, ctx.detach_reset = const, p.alpha, p.detach_reset
        h, s = torch.from_numpy(h).view(seq.shape), torch.from_numpy(s).view(seq.shape)
        ctx.save_for_backward(h, s)
        return s

    @staticmethod
    def backward(ctx, grad_s):
        from workloads.snn import lif_kernels as k

        h, s = ctx.saved_tensors
        T = h.shape[0]
        g = k.lif_backward(grad_s.reshape(T, -1).contiguous().numpy(), h.reshape(T, -1).numpy(),
                           s.reshape(T, -1).numpy(), *ctx.const, ctx.alpha, ctx.detach_reset)
        return torch.from_numpy(g).view(h.shape), None


def spiking_modules(model: nn.Module):
    return [m for m in model.modules() if getattr(m, "is_spiking", False)]


def set_timesteps(model: nn.Module, timesteps: int) -> None:
    """Set T on the network and every neuron in it."""
    for m in model.modules():
        if hasattr(m, "timesteps"):
            m.timesteps = int(timesteps)


def set_drop_single_spike(model: nn.Module, on: bool = True) -> None:
    """Switch LoAS's strong mode (neurons firing once in T are silenced) on every neuron."""
    for m in spiking_modules(model):
        m.drop_single_spike = on
