"""What LoAS and its dual-sparse baselines share, one module per concept: the GEMM view of an SNN layer, the tile walk
of a tiled spMspM on a PE array, the whole-tile buffers, and the vector unit for non-GEMM ops.

``params`` (the shared parameters), ``gemm`` (GEMM views), ``tile_walk`` (the tile walk),
``buffers`` (whole-tile buffers), ``timing`` (traffic and timing of a view), ``model`` (the base
model and the vector unit), ``baseline`` (the cost shared by the timestep-serial baselines).
"""
