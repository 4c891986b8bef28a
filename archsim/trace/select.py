"""A view of a trace without some of its ops, e.g. to simulate only the layers a paper profiles
(LoAS leaves out the direct-encoding layer and the classifier).

Selectors: ``ID`` (one op), ``kind:KIND`` (every op of that kind), ``tag:TAG`` (every op whose tag
TAG is set and true). Each selector must match at least one op, so a typo is an error rather than
a silent no-op. The view shares the trace's tensors; nothing is copied or written.
"""
from __future__ import annotations

from archsim.errors import ConfigError
from archsim.trace.io import Trace


def _matches(op, selector: str) -> bool:
    if selector.startswith("kind:"):
        return op.kind == selector[5:]
    if selector.startswith("tag:"):
        return bool(op.tags.get(selector[4:]))
    return op.id == selector


def without_ops(trace: Trace, selectors: list[str], where: str = "skip_ops") -> Trace:
    """``trace`` minus the ops any selector matches (``where`` names the setting in errors)."""
    if not selectors:
        return trace
    for s in selectors:
        if not any(_matches(op, s) for op in trace.ops):
            raise ConfigError(f"{where}: '{s}' matches no op of {trace.path or trace.name}")
    kept = [op for op in trace.ops if not any(_matches(op, s) for s in selectors)]
    if not kept:
        raise ConfigError(f"{where}: {selectors} leave no op of {trace.path or trace.name}")
    view = Trace(trace.manifest.model_copy(update={"ops": kept}), path=trace.path)
    view._arrays = trace._arrays          # share what is already read
    return view
