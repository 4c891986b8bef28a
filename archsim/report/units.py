"""Human-scaled units: an SI prefix chosen so that numbers read between 1 and 1000
(``71.62 mJ``, not ``71618.9 uJ`` or ``0.07162 J``), for report tables, plot axes and the
terminal alike. Only the base units ``J``, ``s``, ``W`` (and ``Hz``, ``B``, ``OP``) get a prefix,
also as the first factor of a product (``J·s·mm²`` -> ``nJ·s·mm²``); ``mm²`` is kept as it is."""
from __future__ import annotations

import math
from typing import Iterable

PREFIXES = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""), (1e3, "k"),
            (1e6, "M"), (1e9, "G"), (1e12, "T"), (1e15, "P")]
PREFIXABLE = {"J", "s", "W", "Hz", "B", "OP"}


def _finite(values: Iterable) -> list[float]:
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f) and f != 0:
            out.append(abs(f))
    return out


def prefix_for(value: float) -> tuple[float, str]:
    """The largest prefix (factor, symbol) with ``value / factor >= 1`` (the smallest for 0)."""
    if not value or not math.isfinite(value):
        return 1.0, ""
    chosen = PREFIXES[0]
    for factor, symbol in PREFIXES:
        if abs(value) >= factor * (1 - 1e-9):
            chosen = (factor, symbol)
    return chosen


def scale_for(values: Iterable, unit: str, ascii: bool = False) -> tuple[float, str]:
    """(multiplier, scaled unit) for a column of values in ``unit``: the prefix of their median
    magnitude, so that the typical value reads between 1 and 1000. Units without a prefix
    (``mm²``) and empty columns keep multiplier 1."""
    if unit.split("·")[0].split("*")[0] not in PREFIXABLE:
        return 1.0, unit
    v = sorted(_finite(values))
    if not v:
        return 1.0, unit
    factor, symbol = prefix_for(v[len(v) // 2])
    if ascii and symbol == "µ":
        symbol = "u"
    return 1.0 / factor, symbol + unit


def si(value: float | None, unit: str, digits: int = 4, ascii: bool = False) -> str:
    """One value with its own prefix: ``si(0.0716189, "J") == "71.62 mJ"``; ``unit=""``: the number alone."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    mult, scaled = scale_for([value], unit, ascii=ascii)
    text = f"{value * mult:.{digits}g}"
    return f"{text} {scaled}" if scaled else text
