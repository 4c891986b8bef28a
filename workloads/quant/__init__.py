"""Quantisers the frontends share: uniform weight quantisation (RTN, per tensor/channel/group),
progressive rounding by block reconstruction (TesseraQ-style, used by TesseraQ and StableQ) and
activation quantisation (per-token dynamic, static calibrated). The paper-specific users are
:mod:`workloads.papers.stableq` (CNN quantiser, trace export) and :mod:`workloads.papers.tesseraq`
(LLM layers)."""
