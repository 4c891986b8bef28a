"""Tensor-train (TT-SNN) helpers that need no torch: VBMF rank estimation."""
