"""Torch-free workload generators: traces built from a network's description, not from a run.

- :mod:`archsim.generators.shapes`: shape-only traces (layer shapes, roles, bit widths, densities)
  of the papers' networks, built without torch.
- :mod:`archsim.generators.stats`: statistics-only traces built from published per-layer statistics
  when the real tensors are not available (the simulator draws seeded synthetic tensors that
  reproduce them), and the workload knobs that rewrite them.
"""
