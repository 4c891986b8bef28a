"""Any trace input to a :class:`~archsim.trace.io.Trace`: an archsim trace file, a YAML layer
list or a SCALE-Sim topology CSV (the last two converted on the fly). Public as
``archsim.load_trace``."""
from __future__ import annotations

from pathlib import Path

from archsim.trace.io import Trace


def load_trace(path: str | Path) -> Trace:
    """A trace: an archsim trace file, a YAML layer list (``.yaml``) or a SCALE-Sim topology
    (``.csv``), the last two converted on the fly."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        from archsim.trace.layer_list import load_layer_list
        return load_layer_list(path)
    if path.suffix.lower() == ".csv":
        from archsim.importers.scalesim import read_topology, topology_to_trace
        return topology_to_trace(read_topology(path))
    from archsim.trace.io import load_trace as load_trace_file
    return load_trace_file(path)
