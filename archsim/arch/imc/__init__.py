"""The memristive in-memory-computing accelerator model (``imc``): mapping, cost, latency.

The model class is :class:`archsim.arch.imc.model.ImcModel`; the non-ideality engine that reads
the same crossbar description is :mod:`archsim.noise`.
"""
