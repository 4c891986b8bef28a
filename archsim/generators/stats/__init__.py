"""Statistics-only workloads: traces built from published per-layer statistics when the real
tensors are not available (the simulator draws seeded synthetic tensors that reproduce them)."""
