"""The crossbar non-ideality engine: run matrix products through a noisy crossbar description to
measure accuracy under noise (docs/models/imc.md, "Non-ideality engine").

    from archsim.noise import CrossbarSpec, program, matmul, dynamic_matmul, ClipFormerTransform
"""
from archsim.noise.conductance import ClipFormerTransform, apply_noise, noise_moments, quantize
from archsim.noise.engine import (ProgrammedArray, conv_row_groups, crossbar_matmul, dynamic_matmul, input_digits,
                                  matmul, program)
from archsim.noise.spec import CrossbarSpec

__all__ = ["CrossbarSpec", "ProgrammedArray", "program", "matmul", "crossbar_matmul", "dynamic_matmul",
           "input_digits", "conv_row_groups", "quantize", "apply_noise", "noise_moments", "ClipFormerTransform"]
