"""Spikformer (Zhou et al., ICLR 2023, arXiv 2209.15425), the transformer layer of LoAS's scaling
point: spiking self-attention on the STAtten package's body (``model.py`` imports
:class:`workloads.papers.statten.model.SpikingTransformerBody`); see docs/workloads/spikformer.md."""
