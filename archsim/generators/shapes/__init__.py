"""Shape-only workload traces built without torch (for tests, presets and reports)."""
