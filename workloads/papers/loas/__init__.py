"""LoAS (Yin et al., MICRO 2024, arXiv 2407.14073): the spiking AlexNet, VGG16 and ResNet19 the
paper evaluates (``nets.py``), trained and pruned here; their registry entries
(:mod:`workloads.registry`, ``loas-*``) build them from this package."""
