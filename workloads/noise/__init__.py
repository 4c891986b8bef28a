"""PyTorch adapter of the crossbar non-ideality engine (torch lives here, never in archsim)."""
from workloads.noise.adapter import (CrossbarAttention, CrossbarConv2d, CrossbarLinear, CrossbarMatMul, convert,
                                     crossbar_attention, crossbar_matmul_dynamic, patch_attention)

__all__ = ["CrossbarLinear", "CrossbarConv2d", "CrossbarMatMul", "CrossbarAttention", "convert", "crossbar_attention",
           "crossbar_matmul_dynamic", "patch_attention"]
