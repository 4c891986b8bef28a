"""Hardware models by name.

Built-in models are listed here and imported only when used (so ``archsim --help`` stays fast);
third-party packages add models through the ``archsim.models`` entry-point group, e.g. in their
setup.cfg::

    [options.entry_points]
    archsim.models =
        my_model = my_package.my_module:MyModel
"""
from __future__ import annotations

import importlib

BUILTIN = {
    "mac_array": "archsim.arch.mac_array:MacArrayModel",
    "loas": "archsim.arch.loas:LoasModel",
    "sparten": "archsim.arch.sparten:SpartenModel",
    "gospa": "archsim.arch.gospa:GospaModel",
    "gamma": "archsim.arch.gamma:GammaModel",
    "ptb": "archsim.arch.ptb:PtbModel",
    "stellar": "archsim.arch.stellar:StellarModel",
    "imc": "archsim.arch.imc.model:ImcModel",
    "systolic": "archsim.arch.systolic:SystolicModel",
    "hetero": "archsim.arch.hetero:HeteroModel",
}


def available() -> dict[str, str]:
    """name -> "module:Class" of every known model (built-in and entry points)."""
    from importlib.metadata import entry_points     # here: scanning installed packages is slow

    found = dict(BUILTIN)
    for ep in entry_points(group="archsim.models"):
        found.setdefault(ep.name, ep.value)
    return found


def get_model_class(name: str) -> type:
    # a built-in name needs no scan of the installed packages' entry points (milliseconds per
    # call: too slow for a sweep that loads a hardware file per design point)
    models = BUILTIN if name in BUILTIN else available()
    if name not in models:
        import difflib
        hint = difflib.get_close_matches(name, list(models), n=1)
        extra = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise KeyError(f"unknown architecture '{name}'{extra}; registered: {', '.join(sorted(models))}")
    module_name, _, attr = models[name].partition(":")
    return getattr(importlib.import_module(module_name), attr)
