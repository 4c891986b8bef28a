"""ClipFormer (Bhattacharjee, Moitra, Panda, IEEE TCAD 2024, arXiv 2402.02586): accuracy and
attention-output SNR of the small trained ViT (:mod:`workloads.papers.vit`) under crossbar write
noise on K and V, without and with K/V clipping (``study.py``); see
docs/workloads/trex_clipformer.md."""
