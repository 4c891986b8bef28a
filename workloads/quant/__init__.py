"""Quantisers for the frontends: uniform weight quantisation (RTN, per tensor/channel/group),
progressive rounding by block reconstruction (TesseraQ-style), activation quantisation (per-token
dynamic, static calibrated) and the calibration-data generators of the StableQ frontend."""
