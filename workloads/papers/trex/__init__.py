"""TReX (Moitra et al., IEEE TETC 2024, arXiv 2408.12742): the reuse-pattern search (Algorithm 1)
on the small trained ViT (:mod:`workloads.papers.vit`) and the TReX ratios' sensitivity to the
K/V write time (``search.py``); see docs/workloads/trex_clipformer.md."""
