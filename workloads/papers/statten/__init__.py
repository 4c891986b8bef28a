"""STAtten (Lee et al., CVPR 2025, arXiv 2409.19764): spatial-temporal chunked attention on the
Spike-driven Transformer (``model.py``). The module also holds the spiking-transformer body (SPS
stem, block with membrane shortcuts, ``SpikingTransformerBody``) that Spikformer
(:mod:`workloads.papers.spikformer`) reuses; see docs/workloads/statten.md."""
