"""One package per paper: each holds that paper's model(s), its training schedule or
configuration and its studies. Shared infrastructure (the capture, the trainer, checkpoints,
the SNN toolkit, quantisers, the noise adapter) stays in :mod:`workloads`; a paper package imports
it, never the other way round except where an orchestrator (the CLI, the main job's steps, the
committed results) runs a paper's study."""
