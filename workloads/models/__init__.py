"""Model definitions several frontends share: the ResNet-18 (StableQ), the ViT (PCL, the small ViT of
TReX and ClipFormer, the noise adapter) and the tiny test networks; each paper's own networks live in
:mod:`workloads.papers`."""
