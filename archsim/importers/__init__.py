"""Importers: formats other tools use, turned into archsim traces and hardware descriptions."""
