"""ReSpike (Xiao et al., arXiv 2409.01564): the hybrid ANN-SNN on video clips, an ANN on the key
frame and a spiking ResNet on the residual frames fused by cross-attention (``model.py``). The
moving Fashion-MNIST clips it trains on are a dataset of :mod:`workloads.data`
(:mod:`workloads.clips`); see docs/workloads/respike.md."""
