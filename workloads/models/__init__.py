"""Model definitions of the papers' networks (built from the :mod:`workloads.snn` toolkit)."""
