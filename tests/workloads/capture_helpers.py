"""Shared by the capture tests: PyTorch's own MAC count of a forward pass.

Reference: ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2), a peer count by PyTorch
itself. On the CPU it counts 0 for the fused attention kernels (``_scaled_dot_product_flash_
attention_for_cpu``, ``_native_multi_head_attention``: measured here), so the reference, like the
capture, runs attention on PyTorch's math backend with the MultiheadAttention fast path off; it then
counts the Q·Kᵀ and A·V products as the bmm's they are.
"""
from __future__ import annotations

import torch


def flop_counter_macs(model: torch.nn.Module, x) -> int:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel([SDPBackend.MATH]), FlopCounterMode(display=False) as fc:
            model(*x) if isinstance(x, tuple) else model(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    total = fc.get_total_flops()
    assert total % 2 == 0
    return total // 2


def trace_macs(trace) -> int:
    return sum(op.macs * op.timesteps for op in trace.ops)
