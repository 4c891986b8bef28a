"""One-stage prompt-based continual learning (OS-Prompt, Kim et al., ECCV 2024, arXiv 2402.16189)
against the two-stage baseline, on a small ViT (:mod:`workloads.models.vit`): the prompt pool,
the prompted ViT, the configuration and the experiment (``study.py``); see docs/workloads/pcl.md."""
