"""PyTorch adapter of the crossbar non-ideality engine (torch lives here, never in archsim)."""
from workloads.noise.adapter import (CrossbarAttention, CrossbarConv2d, CrossbarLinear, convert, crossbar_attention,
                                     crossbar_matmul_dynamic, patch_attention)

__all__ = ["CrossbarLinear", "CrossbarConv2d", "CrossbarAttention", "convert", "crossbar_attention",
           "crossbar_matmul_dynamic", "patch_attention"]
