"""Design-space sweeps: specs (``spec``), checked plans (``plan``), executors (local process
pool, Dask), the resumable result store (``store``) and Pareto fronts (``pareto``).
See docs/sweeps.md."""
from __future__ import annotations

import sys
import types

__all__ = ["run_sweep", "make_plan", "load_table", "pareto_front"]


def __getattr__(name: str):
    # lazy: `import archsim.sweep` must not pull pandas or dask in
    if name == "run_sweep":
        from archsim.sweep.runner import run_sweep
        return run_sweep
    if name == "make_plan":
        from archsim.sweep.plan import make_plan
        return make_plan
    if name == "load_table":
        from archsim.sweep.store import load_table
        return load_table
    if name == "pareto_front":
        from archsim.sweep.pareto import pareto_front
        return pareto_front
    raise AttributeError(f"module 'archsim.sweep' has no attribute {name!r}")


class _CallablePackage(types.ModuleType):
    """Importing ``archsim.sweep.<module>`` makes ``archsim.sweep`` name this package, so the
    package answers a call like the function :func:`archsim.api.sweep` it hides."""

    def __call__(self, *args, **kwargs):
        from archsim.api import sweep
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
